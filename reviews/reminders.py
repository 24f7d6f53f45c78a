"""Scheduled reminders (Celery beat): self-assessments not yet submitted as the due date
nears, assessments awaiting confirmation, follow-up cases past their due date, and case
letters their owners have not acknowledged (签收). Each reminder goes once per person, item
and day, however often beat runs: its idempotency key carries the date."""

import datetime

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from lightboard.roles import Role
from outbox.models import Notification
from outbox.services import notify
from tasks.access import leader_of
from tasks.models import KeyTask, SelfAssessment, Stage
from tasks.queries import active_members, org_tree

from . import access
from .cases import OPEN_STATES
from .letters import letter_link
from .models import FollowUp

# Remind owners this many days before their stage's self-assessment is due.
SELF_ASSESSMENT_WARNING_DAYS = 5


@transaction.atomic
def send_due_reminders(today):
    """Queue the reminders of `today`. Returns how many new notifications were written."""
    day = today.isoformat()
    todays = Notification.objects.filter(idempotency_key__startswith="remind:", idempotency_key__endswith=f":{day}")
    before = todays.count()
    _self_assessments_due(today, day)
    _confirmations_waiting(day)
    _cases_overdue(today, day)
    _letters_not_acknowledged(today, day)
    return todays.count() - before


def _self_assessments_due(today, day):
    """Owners whose self-assessment is not submitted as its due date nears."""
    stages = Stage.objects.filter(
        self_assessment_due__gte=today,
        self_assessment_due__lte=today + datetime.timedelta(days=SELF_ASSESSMENT_WARNING_DAYS),
        start__lte=today,
    ).select_related("year")
    for stage in stages:
        submitted = SelfAssessment.objects.filter(stage=stage, state__in=SelfAssessment.SUBMITTED_STATES)
        for task in (
            KeyTask.objects.filter(year=stage.year).exclude(pk__in=submitted.values("task_id")).select_related("owner")
        ):
            notify(
                recipient=task.owner,
                kind="reminder_self_assessment",
                subject=_("Self-assessment due %(date)s: %(task)s")
                % {"date": stage.self_assessment_due.isoformat(), "task": task.title},
                link=reverse("tasks:assess", kwargs={"task_id": task.pk, "number": stage.number}),
                key=f"remind:self-assessment:{task.pk}:{stage.pk}:{task.owner_id}:{day}",
            )


def _confirmations_waiting(day):
    """Division leaders with submitted self-assessments waiting for their confirmation."""
    waiting = SelfAssessment.objects.filter(state=SelfAssessment.State.SUBMITTED).select_related(
        "task__department__division_leader", "stage"
    )
    for assessment in waiting:
        leader = leader_of(assessment.task.department)
        if leader is None:
            continue
        notify(
            recipient=leader,
            kind="reminder_confirmation",
            subject=_("Awaiting your confirmation: %(task)s") % {"task": assessment.task.title},
            link=reverse("reviews:confirmation", kwargs={"assessment_id": assessment.pk}),
            key=f"remind:confirm:{assessment.pk}:{leader.pk}:{day}",
        )


def _cases_overdue(today, day):
    """Inspectors with open cases past their due date; a case nobody has taken yet is every
    inspector's to chase."""
    overdue = FollowUp.objects.filter(due_date__lt=today, state__in=OPEN_STATES).select_related(
        "inspector", "rating__task"
    )
    inspectors = list(active_members(Role.INSPECTOR))
    tree = org_tree()
    for case in overdue:
        if case.inspector:
            reaching = [case.inspector]
        else:  # those whose role is held for the whole group, or at the case's unit or above it
            above = {unit.pk for unit in tree.path(case.rating.task.department_id)}
            reaching = [inspector for inspector in inspectors if inspector.unit_id in above | {None}]
        for inspector in reaching:
            notify(
                recipient=inspector,
                kind="reminder_overdue_case",
                subject=_("Follow-up case overdue since %(date)s: %(task)s")
                % {"date": case.due_date.isoformat(), "task": case.rating.task.title},
                link=reverse("reviews:case", kwargs={"case_id": case.pk}),
                key=f"remind:case:{case.pk}:{inspector.pk}:{day}",
            )


def _letters_not_acknowledged(today, day):
    """Owners with a case's letter issued before today and not yet acknowledged (签收), daily
    until they acknowledge it."""
    waiting = (
        access.letters_awaiting_acknowledgement()
        .exclude(issued_at__date__gte=today)
        .select_related("case__rating__task__owner")
    )
    for letter in waiting:
        owner = letter.case.rating.task.owner
        notify(
            recipient=owner,
            kind="reminder_acknowledge",
            subject=_("Please acknowledge %(letter)s %(number)s: %(task)s")
            % {"letter": letter.get_kind_display(), "number": letter.number, "task": letter.case.rating.task.title},
            link=letter_link(letter),
            key=f"remind:acknowledge:{letter.pk}:{owner.pk}:{day}",
        )
