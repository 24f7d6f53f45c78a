"""A group of companies over two years, for the reports that roll up the organisation tree
(issue 14): `subsidiaries` subsidiaries at the top, each with `departments` departments of its
own, each department with `per_department` key tasks, in each of two years (last year and the
year before it, so that "the current year" does not depend on the day the benchmark runs).
Every stage of the earlier year and stages 1-5 of the later one were reviewed at closed
meetings of the group's cycle and of the first subsidiary's own (it runs its own cycle);
every yellow and red result has its follow-up case (those of the latest meetings open);
half of the later year's tasks were carried over from the earlier year. Built with
bulk_create, as bench/data.py.

Then the report pages are measured at the group's level and at a subsidiary's, beside the
heat map's physical floor: the same counts (each top-level unit with everything below it,
per stage and light) read by one SQL statement through a cursor (a recursive query up the
tree) and dumped with json.dumps."""

import datetime
import json
import statistics
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from lightboard.lights import light_of
from lightboard.roles import Role
from reviews.models import FollowUp, Rating, ReviewMeeting
from tasks import services
from tasks.models import Department, KeyTask, TaskList, User

from .data import CASE_STATES as OPEN_STATES
from .data import _with_role, score
from .measure import _counted, _page_renderer, median_seconds, timed

measure_timed = timed


@dataclass
class Group:
    subsidiaries: int
    departments: int
    per_department: int
    year: object  # the later (current) year
    leadership: User  # the group's
    inspector: User  # the group's
    subsidiary_inspector: User  # holds the role for the first subsidiary only
    first_subsidiary: str
    first_department: str

    @property
    def tasks(self):
        """Tasks per year."""
        return self.subsidiaries * self.departments * self.per_department

    @property
    def label(self):
        return f"{self.subsidiaries}x{self.departments}x{self.per_department}"


def build_group(subsidiaries, departments, per_department):
    today = timezone.localdate()
    earlier = services.create_assessment_year(year=today.year - 2)
    later = services.create_assessment_year(year=today.year - 1)
    now = timezone.now()

    def person(username, name, unit=None):
        return User(username=username, name=name, email=f"{username}@bench.example", password="!", unit=unit)

    # The first subsidiary runs its own cycle: its own meetings beside the group's.
    companies = Department.objects.bulk_create(
        Department(
            code=f"S{i:02d}", name=f"子公司{i:02d}", kind=Department.Kind.SUBSIDIARY,
            runs_own_cycle=i == 0, letter_prefix="子零" if i == 0 else "",
        )
        for i in range(subsidiaries)
    )  # fmt: skip
    own_cycle = companies[0]
    leadership, inspector = User.objects.bulk_create([person("leadership", "领导小组"), person("inspector", "纪检")])
    subsidiary_inspector = User.objects.bulk_create([person("inspector.s00", "子公司纪检", unit=companies[0])])[0]
    depts = Department.objects.bulk_create(
        Department(code=f"{company.code}-D{j:02d}", name=f"{company.name}部门{j:02d}", parent=company)
        for company in companies
        for j in range(departments)
    )
    owners = User.objects.bulk_create(person(f"owner.{d.code.lower()}", f"责任人{d.code}") for d in depts)
    _with_role([leadership], Role.LEADERSHIP)
    _with_role([inspector, subsidiary_inspector], Role.INSPECTOR)
    _with_role(owners, Role.STAFF)
    User.departments.through.objects.bulk_create(
        User.departments.through(user_id=owner.pk, department_id=dept.pk)
        for owner, dept in zip(owners, depts, strict=True)
    )

    carried = {}
    for year, stages_reviewed in ((earlier, 6), (later, 5)):
        TaskList.objects.bulk_create(TaskList(year=year, department=d, state=TaskList.State.APPROVED) for d in depts)
        tasks = KeyTask.objects.bulk_create(
            KeyTask(
                year=year, department=dept, owner=owners[i], title=f"{dept.code}任务{n:02d}", weight=1 + n % 3,
                standard="按计划完成年度建设内容并通过验收", deadline=datetime.date(year.year, 12, 31),
                carried_from=carried.get((dept.pk, n)) if n % 2 == 0 else None,
            )
            for i, dept in enumerate(depts)
            for n in range(per_department)
        )  # fmt: skip
        carried = {(task.department_id, int(task.title[-2:])): task for task in tasks}
        stages = list(year.stages.filter(number__lte=stages_reviewed).order_by("number"))
        meetings = ReviewMeeting.objects.bulk_create(
            ReviewMeeting(
                stage=s, unit=unit, date=s.meeting_date, place="会议室", state=ReviewMeeting.State.CLOSED,
                opened_at=now, closed_at=now, closed_by=leadership,
            )
            for s in stages
            for unit in (None, own_cycle)
        )  # fmt: skip
        meeting_of = {(m.stage.number, m.unit_id): m for m in meetings}
        latest = stages[-1].number
        shift = year.year % 5  # the years differ
        ratings = Rating.objects.bulk_create(
            Rating(
                meeting=meeting_of[s.number, own_cycle.pk if t.department.parent_id == own_cycle.pk else None],
                task=t, final_score=score(k + shift, s.number), colour=light_of(score(k + shift, s.number), year),
            )
            for s in stages
            for k, t in enumerate(tasks)
        )  # fmt: skip
        # The later year's latest meetings' cases are being worked; all the others are closed.
        FollowUp.objects.bulk_create(
            FollowUp(
                rating=r,
                kind=FollowUp.Kind.SUPERVISION if r.colour == "red" else FollowUp.Kind.REMINDER,
                state=OPEN_STATES[n % len(OPEN_STATES)]
                if year == later and r.meeting.stage.number == latest
                else FollowUp.State.CLOSED,
                inspector=inspector,
                due_date=r.meeting.date + datetime.timedelta(days=30 if r.colour == "red" else 15),
                conclusion="已整改到位",
            )
            for n, r in enumerate(r for r in ratings if r.colour in ("yellow", "red"))
        )
    return Group(
        subsidiaries=subsidiaries, departments=departments, per_department=per_department, year=later,
        leadership=leadership, inspector=inspector, subsidiary_inspector=subsidiary_inspector,
        first_subsidiary=companies[0].code, first_department=depts[0].code,
    )  # fmt: skip


def pages(group):
    """(name, user, url) of the report pages, at the group's level and at a subsidiary's."""
    sub, dept = group.first_subsidiary, group.first_department
    return [
        ("heat map: group", group.leadership, "/reports/"),
        ("heat map: subsidiary", group.leadership, f"/reports/?unit={sub}"),
        ("ranking: group", group.leadership, "/reports/ranking/"),
        ("ranking: subsidiary", group.leadership, f"/reports/ranking/?unit={sub}"),
        ("scorecard: subsidiary", group.leadership, f"/reports/departments/{sub}/"),
        ("scorecard: department", group.leadership, f"/reports/departments/{dept}/"),
        ("warning: group", group.leadership, "/reports/warning/"),
        ("year on year", group.leadership, "/reports/years/"),
        ("cases: group", group.inspector, "/reviews/followups/"),
        ("cases: subsidiary", group.subsidiary_inspector, "/reviews/followups/"),
    ]


HEAT_MAP_FLOOR_SQL = """
WITH RECURSIVE top_of(id, top_id) AS (
    SELECT id, id FROM tasks_department WHERE parent_id IS NULL
    UNION ALL
    SELECT d.id, t.top_id FROM tasks_department d JOIN top_of t ON d.parent_id = t.id
)
SELECT top.code, top.name, s.number, r.colour, count(*)
FROM reviews_rating r
JOIN reviews_reviewmeeting m ON m.id = r.meeting_id
JOIN tasks_stage s ON s.id = m.stage_id
JOIN tasks_keytask k ON k.id = r.task_id
JOIN top_of t ON t.id = k.department_id
JOIN tasks_department top ON top.id = t.top_id
WHERE s.year_id = %s AND m.state = 'closed'
GROUP BY top.code, top.name, s.number, r.colour
ORDER BY top.code, s.number, r.colour
"""


def heat_map_floor(year):
    """The group's heat map content by one SQL statement through a cursor, dumped to JSON."""
    with connection.cursor() as cursor:
        cursor.execute(HEAT_MAP_FLOOR_SQL, [year.pk])
        rows = cursor.fetchall()
    return json.dumps(rows, ensure_ascii=False).encode()


def measure(group, repeat):
    """Each page's median time and query count; the group heat map and its floor in turns."""
    measured = {}
    for name, user, url in pages(group):
        render = _page_renderer(user, url)
        queries_run, size = _counted(render)
        measured[name] = {
            "seconds": round(median_seconds(render, repeat), 4),
            "queries": queries_run,
            "html_bytes": size,
        }
    render = _page_renderer(group.leadership, "/reports/")
    page_times, floor_times = [], []
    for _ in range(repeat):
        page_times.append(median_seconds(render, 1))
        floor_times.append(median_seconds(lambda: heat_map_floor(group.year), 1))
    floor = {"seconds": round(statistics.median(floor_times), 4), "queries": 1}
    heat_map = round(statistics.median(page_times), 4)
    return measured, floor, round(heat_map / floor["seconds"], 2)
