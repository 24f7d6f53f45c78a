"""Demo data of the reviews app on top of tasks.demo: confirmations, closed meetings with
their ratings and follow-up cases, and the latest stage's meeting ready to run."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from lightboard import clock
from tasks.models import AuditEntry, SelfAssessment, User

from . import cases, services
from .models import Confirmation, FollowUp, Letter, ReviewMeeting

PLACE = "集团总部三楼会议室"
DECISIONS = {
    "red": "发函督办，约谈责任人，限期整改",
    "yellow": "纪检部门提醒督促，下阶段重点跟踪",
}


@transaction.atomic
def load_review_demo(year, today=None):
    """Confirm earlier stages, hold and close their meetings, and schedule the latest past
    stage's meeting. The demo leader keeps that stage's assessments in their queue."""
    today = today or clock.today()
    leadership = User.objects.get(username="leadership")
    past = [stage for stage in year.stages.order_by("number") if stage.self_assessment_due < today]
    if not past:
        return
    *held, latest = past
    for stage in held:
        _confirm_all(stage, exclude_leader=None)
        meeting = ReviewMeeting.objects.filter(stage=stage).first()
        if meeting is None:
            meeting = services.schedule_meeting(
                stage=stage, date=stage.meeting_date, place=PLACE, attendees=[leadership], by=leadership
            )
        if meeting.state != ReviewMeeting.State.CLOSED:
            services.open_meeting(meeting=meeting, by=leadership)
            for rating in meeting.ratings.filter(colour__in=["red", "yellow"]):
                services.set_rating(
                    rating_id=rating.pk,
                    version=rating.version,
                    final_score=rating.final_score,
                    score_reason="",
                    decision=DECISIONS[rating.colour],
                    next_stage_target="",
                    by=leadership,
                )
            services.close_meeting(meeting=meeting, by=leadership)
    if held:
        _work_some_cases(held[-1], today)
    # The latest stage: the other divisions are confirmed; the demo leader's wait in the queue.
    _confirm_all(latest, exclude_leader="leader")
    if not ReviewMeeting.objects.filter(stage=latest).exists():
        services.schedule_meeting(
            stage=latest, date=latest.meeting_date, place=PLACE, attendees=[leadership], by=leadership
        )


def _confirm_all(stage, *, exclude_leader):
    assessments = SelfAssessment.objects.filter(stage=stage, confirmation__isnull=True).select_related(
        "task__department__division_leader"
    )
    if exclude_leader:
        assessments = assessments.exclude(task__department__division_leader__username=exclude_leader)
    confirmations = []
    for assessment in assessments:
        leader = assessment.task.department.division_leader
        confirmations.append(
            Confirmation(assessment=assessment, score=Decimal(assessment.completion), confirmed_by=leader)
        )
    Confirmation.objects.bulk_create(confirmations)
    SelfAssessment.objects.filter(pk__in=[c.assessment_id for c in confirmations]).update(
        state=SelfAssessment.State.CONFIRMED
    )
    # The demo's history shows who confirmed, as the confirmation service would record it.
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=c.confirmed_by,
            action="confirm self-assessment",
            subject_type="selfassessment",
            subject_id=c.assessment_id,
            task_id=c.assessment.task_id,
            before={"state": SelfAssessment.State.SUBMITTED, "confirmed_score": None},
            after={"state": SelfAssessment.State.CONFIRMED, "confirmed_score": str(c.score)},
        )
        for c in confirmations
    )


def _work_some_cases(stage, today):
    """The inspector has started on the last closed meeting's cases: reminders for the demo
    staff's department and a supervision letter with an interview for one red result."""
    import datetime

    if Letter.objects.filter(case__rating__meeting__stage=stage).exists():
        return  # done by an earlier run
    inspector = User.objects.get(username="inspector")
    open_cases = FollowUp.objects.filter(rating__meeting__stage=stage, state=FollowUp.State.OPEN).select_related(
        "rating__task__department"
    )
    red = [c for c in open_cases if c.kind == FollowUp.Kind.SUPERVISION]
    yellow = [c for c in open_cases if c.kind == FollowUp.Kind.REMINDER]
    for case in [c for c in yellow if c.rating.task.department.code == "SCB"][:2]:
        cases.send_reminder(case_id=case.pk, version=case.version, by=inspector)
    for case in red[:1]:
        case = cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
        when = timezone.make_aware(datetime.datetime.combine(today + datetime.timedelta(days=3), datetime.time(9, 30)))
        cases.schedule_interview(
            case_id=case.pk,
            version=case.version,
            at=when,
            place="纪检监察部会议室",
            participants="赵敏、责任人",
            by=inspector,
        )
