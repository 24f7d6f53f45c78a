"""A year of lightboard at a given size, built with bulk_create: departments x tasks, six
stages of targets, self-assessments, confirmations and meeting ratings, commendation notices
and follow-up cases.

Stages 1-5 are history: confirmed self-assessments, closed meetings with their ratings and
commendation notices, and a follow-up case for every yellow and red rating (the cases of
stages 1-4 are closed, those of stage 5 are being worked). Stage 6 is under way: its
self-assessments are submitted and wait in the division leader's confirmation queue, and its
meeting is in session with every task scored, ready to close.

The year is last calendar year, so "the current year" and "the current stage" (stage 6) do
not depend on the day the benchmark runs."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone

from lightboard.lights import light_of
from lightboard.roles import Role
from reviews.models import Confirmation, FollowUp, Letter, LetterCounter, Rating, ReviewMeeting
from tasks import services
from tasks.models import Department, KeyTask, SelfAssessment, StageTarget, TaskList, User

# Twenty scores cycled over the tasks, shifted each stage: 12 green, 5 yellow and 3 red, so
# lights change between stages, some tasks are red twice and some red cases are serious.
SCORES = [
    Decimal(s)
    for s in (
        "95.0", "88.0", "92.0", "85.0", "81.5", "90.0", "99.0", "86.0", "83.0", "94.0", "87.0", "91.0",
        "75.0", "70.0", "65.0", "80.0", "60.0",
        "55.0", "45.0", "25.0",
    )
]  # fmt: skip
CASE_STATES = [FollowUp.State.OPEN, FollowUp.State.NOTIFIED, FollowUp.State.RECTIFYING]


def score(task_index, stage_number):
    return SCORES[(task_index * 7 + stage_number * 3) % len(SCORES)]


@dataclass
class Year:
    departments: int
    per_department: int
    year: object
    stages: list
    meeting: ReviewMeeting  # stage 6, in session, every task scored
    leadership: User
    leader: User  # division leader of every department: stage 6 waits in their queue
    inspector: User
    owner: User  # owner and staff member of the first department
    users: int

    @property
    def tasks(self):
        return self.departments * self.per_department


def _group(role):
    return Group.objects.get(name=role.value)


def _with_role(users, role):
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=user.pk, group_id=_group(role).pk) for user in users
    )


def build(departments, per_department):
    now = timezone.now()
    year = services.create_assessment_year(year=timezone.localdate().year - 1)
    stages = list(year.stages.order_by("number"))
    current = stages[-1]

    def person(username, name):
        return User(username=username, name=name, email=f"{username}@bench.example", password="!")

    leadership, leader, inspector = User.objects.bulk_create(
        [person("leadership", "领导小组"), person("leader", "分管领导"), person("inspector", "纪检专员")]
    )
    owners = User.objects.bulk_create(person(f"owner{i:03d}", f"责任人{i:03d}") for i in range(departments))
    _with_role([leadership], Role.LEADERSHIP)
    _with_role([leader], Role.DIVISION_LEADER)
    _with_role([inspector], Role.INSPECTOR)
    _with_role(owners, Role.STAFF)

    depts = Department.objects.bulk_create(
        Department(code=f"D{i:03d}", name=f"部门{i:03d}", division_leader=leader) for i in range(departments)
    )
    User.departments.through.objects.bulk_create(
        User.departments.through(user_id=owner.pk, department_id=dept.pk)
        for owner, dept in zip(owners, depts, strict=True)
    )
    TaskList.objects.bulk_create(TaskList(year=year, department=d, state=TaskList.State.APPROVED) for d in depts)
    tasks = KeyTask.objects.bulk_create(
        KeyTask(
            year=year, department=dept, owner=owners[i], title=f"重点任务{i:03d}-{n:02d}",
            standard="按计划完成年度建设内容并通过验收", deadline=stages[(n % 6)].end,
        )
        for i, dept in enumerate(depts)
        for n in range(per_department)
    )  # fmt: skip
    StageTarget.objects.bulk_create(
        StageTarget(task=t, stage=s, description=f"第{s.number}阶段：完成{s.number * 16}%的工作量")
        for t in tasks
        for s in stages
    )

    submitted_at = timezone.make_aware(datetime.datetime.combine(current.self_assessment_due, datetime.time(9)))
    assessments = SelfAssessment.objects.bulk_create(
        SelfAssessment(
            task=t, stage=s, completion=score(k, s.number), account="已按阶段目标推进，详见附件说明。",
            state=SelfAssessment.State.SUBMITTED if s == current else SelfAssessment.State.CONFIRMED,
            submitted_at=submitted_at, submitted_by=t.owner,
        )
        for k, t in enumerate(tasks)
        for s in stages
    )  # fmt: skip
    Confirmation.objects.bulk_create(
        Confirmation(assessment=a, score=a.completion, confirmed_by=leader) for a in assessments if a.stage != current
    )

    meetings = ReviewMeeting.objects.bulk_create(
        ReviewMeeting(
            stage=s, date=s.meeting_date, place="三楼会议室",
            state=ReviewMeeting.State.IN_SESSION if s == current else ReviewMeeting.State.CLOSED,
            opened_at=now, closed_at=None if s == current else now, closed_by=None if s == current else leadership,
        )
        for s in stages
    )  # fmt: skip
    ReviewMeeting.attendees.through.objects.bulk_create(
        ReviewMeeting.attendees.through(reviewmeeting_id=m.pk, user_id=leadership.pk) for m in meetings
    )
    ratings = Rating.objects.bulk_create(
        Rating(meeting=m, task=t, final_score=score(k, m.stage.number), colour=light_of(score(k, m.stage.number), year))
        for m in meetings
        for k, t in enumerate(tasks)
    )
    closed = [m for m in meetings if m.state == ReviewMeeting.State.CLOSED]
    Letter.objects.bulk_create(
        Letter(kind=Letter.Kind.COMMENDATION, year=year.year, sequence=n, meeting=m, issued_by=leadership)
        for n, m in enumerate(closed, start=1)
    )
    LetterCounter.objects.create(kind=Letter.Kind.COMMENDATION, year=year.year, last=len(closed))

    latest_closed = closed[-1]
    FollowUp.objects.bulk_create(
        FollowUp(
            rating=r,
            kind=FollowUp.Kind.SUPERVISION if r.colour == "red" else FollowUp.Kind.REMINDER,
            state=CASE_STATES[n % len(CASE_STATES)] if r.meeting == latest_closed else FollowUp.State.CLOSED,
            inspector=inspector if n % 2 else None,
            due_date=r.meeting.date + datetime.timedelta(days=30 if r.colour == "red" else 15),
            serious=r.final_score < year.serious_below,
            serious_reason="得分低于严重阈值" if r.final_score < year.serious_below else "",
            conclusion="" if r.meeting == latest_closed else "已整改到位",
        )
        for n, r in enumerate(r for r in ratings if r.meeting.state == ReviewMeeting.State.CLOSED)
        if r.colour in ("yellow", "red")
    )
    return Year(
        departments=departments, per_department=per_department, year=year, stages=stages, meeting=meetings[-1],
        leadership=leadership, leader=leader, inspector=inspector, owner=owners[0], users=3 + len(owners),
    )  # fmt: skip
