"""The rows the API answers with, built from the same queries the pages read and in a fixed
number of queries whatever the number of rows. People are given by name only."""

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from lightboard import clock
from lightboard.lights import MISSING
from reviews import queries as review_queries
from reviews.models import CaseEvent, Letter, Rating, ReviewMeeting
from tasks.models import AssessmentYear, AuditEntry, KeyTask, SelfAssessment, StageTarget, TaskList
from tasks.queries import current_stage, current_year, standing
from tasks.results import NO_RESULT, stage_results

from . import access
from .apps import HISTORY_ACTIONS
from .models import IntegrationAccount


class Rows:
    """A queryset whose page is turned into rows once it is read: `build(objects)` makes the rows
    of one page in a fixed number of queries (api.pagination.Pages reads it)."""

    def __init__(self, queryset, build):
        self.queryset, self.build = queryset, build

    def count(self):
        return self.queryset.count()

    def __getitem__(self, page):
        return self.build(list(self.queryset[page]))


def _number(value):
    return None if value is None else float(value)


def _unit(department):
    return None if department is None else {"id": department.pk, "code": department.code, "name": department.name}


def _person(user):
    return None if user is None else {"name": str(user)}


# --- units, years and stages ----------------------------------------------------------------


def get_year(year=None):
    """The assessment year asked for, by default this year's (tasks.queries.current_year); None if
    there is no such year."""
    if year is None:
        return current_year(clock.today())
    return AssessmentYear.objects.filter(year=year).first()


def get_stage(year, number=None):
    """The stage of an assessment year with this number, by default today's; None if there is none."""
    if number is None:
        return current_stage(year, clock.today())
    return year.stages.filter(number=number).first()


def units(integration):
    return access.units_in_scope(integration).order_by("code", "pk")


def years():
    return AssessmentYear.objects.prefetch_related("stages").order_by("-year")


# --- task lists --------------------------------------------------------------------------


def task_lists(integration, year):
    """Every unit the account reads with its list's state for the year and its number of tasks
    (a unit without a list reads as an empty draft, as on the lists page). One query a page."""
    state = TaskList.objects.filter(year=year, department=OuterRef("pk")).values("state")[:1]
    count = (
        KeyTask.objects.filter(year=year, department=OuterRef("pk"))
        .order_by()
        .values("department")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    units = access.units_in_scope(integration).annotate(
        list_state=Coalesce(Subquery(state), Value(TaskList.State.DRAFT.value)),
        task_count=Coalesce(Subquery(count), Value(0), output_field=IntegerField()),
    )

    def build(page):
        return [
            {"year": year.year, "department": _unit(u), "state": u.list_state, "task_count": u.task_count} for u in page
        ]

    return Rows(units.order_by("code", "pk"), build)


# --- tasks and their stages ----------------------------------------------------------------


def _assessment(assessment):
    if assessment is None:
        return {
            "state": "none", "completion": None, "account": "", "version": 0, "submitted_at": None,
            "submitted_by": None, "late": False, "return_comment": "",
        }  # fmt: skip
    return {
        "state": assessment.state,
        "completion": _number(assessment.completion),
        "account": assessment.account,
        "version": assessment.version,
        "submitted_at": assessment.submitted_at,
        "submitted_by": _person(assessment.submitted_by),
        "late": assessment.is_late,
        "return_comment": assessment.return_comment,
    }


def stage_row(task, stage, target, assessment, result):
    """One stage of a task: its target, the self-assessment, the scores and the light that stands."""
    stands = standing(task.year, assessment, result)
    return {
        "number": stage.number,
        "start": stage.start,
        "end": stage.end,
        "self_assessment_due": stage.self_assessment_due,
        "target": target,
        "self_assessment": _assessment(assessment),
        "confirmed_score": _number(result.confirmed),
        "final_score": _number(result.final),
        "score": _number(stands.score),
        "score_source": stands.source,
        "light": stands.light,
    }


def _task_relations(queryset):
    return queryset.select_related("year", "department", "owner").prefetch_related(
        "year__stages",
        "cooperating_departments",
        Prefetch("targets", queryset=StageTarget.objects.only("task_id", "stage_id", "description")),
        Prefetch("assessments", queryset=SelfAssessment.objects.select_related("stage", "submitted_by")),
    )


def _task_rows(page):
    """The rows of a page of tasks (loaded with _task_relations): seven queries with the page's."""
    results = stage_results(KeyTask.objects.filter(pk__in=[task.pk for task in page]))
    rows = []
    for task in page:
        targets = {target.stage_id: target.description for target in task.targets.all()}
        assessments = {assessment.stage_id: assessment for assessment in task.assessments.all()}
        stages = sorted(task.year.stages.all(), key=lambda stage: stage.number)
        rows.append(
            {
                "id": task.pk,
                "year": task.year.year,
                "department": _unit(task.department),
                "cooperating_departments": [_unit(unit) for unit in task.cooperating_departments.all()],
                "title": task.title,
                "standard": task.standard,
                "owner": _person(task.owner),
                "deadline": task.deadline,
                "weight": float(task.weight),
                "stages": [
                    stage_row(
                        task,
                        stage,
                        targets.get(stage.pk, ""),
                        assessments.get(stage.pk),
                        results.get((task.pk, stage.number), NO_RESULT),
                    )  # fmt: skip
                    for stage in stages
                ],
            }
        )
    return rows


def tasks(integration, *, year=None, unit_ids=None):
    found = access.tasks_in_scope(integration)
    if year is not None:
        found = found.filter(year__year=year)
    if unit_ids is not None:
        found = found.filter(department_id__in=unit_ids)
    return Rows(_task_relations(found).order_by("-year__year", "department__code", "pk"), _task_rows)


def task_row(task):
    return _task_rows([_task_relations(KeyTask.objects.filter(pk=task.pk)).get()])[0]


def task_stage(task, stage):
    """One stage of a task, as in the task's row."""
    return next(row for row in task_row(task)["stages"] if row["number"] == stage.number)


# --- lights per stage ----------------------------------------------------------------------


def lights(integration, stage):
    """The light that stands for each task the account reads, at one stage of its year."""
    found = (
        access.tasks_in_scope(integration)
        .filter(year_id=stage.year_id)
        .select_related("year", "department")
        .prefetch_related(
            Prefetch("assessments", queryset=SelfAssessment.objects.filter(stage=stage), to_attr="at_stage")
        )
        .order_by("department__code", "pk")
    )

    def build(page):
        results = stage_results(KeyTask.objects.filter(pk__in=[task.pk for task in page]))
        rows = []
        for task in page:
            result = results.get((task.pk, stage.number), NO_RESULT)
            stands = standing(task.year, task.at_stage[0] if task.at_stage else None, result)
            rows.append(
                {
                    "task_id": task.pk,
                    "title": task.title,
                    "department": _unit(task.department),
                    "year": stage.year.year,
                    "stage": stage.number,
                    "score": _number(stands.score),
                    "score_source": stands.source,
                    "light": stands.light,
                }
            )
        return rows

    return Rows(found, build)


# --- meetings and minutes ------------------------------------------------------------------


def _meeting(meeting):
    counts = {key: getattr(meeting, f"n_{key}", 0) for key in ("green", "yellow", "red", MISSING)}
    return {
        "id": meeting.pk,
        "year": meeting.stage.year.year,
        "stage": meeting.stage.number,
        "unit": _unit(meeting.unit),
        "date": meeting.date,
        "place": meeting.place,
        "state": meeting.state,
        "opened_at": meeting.opened_at,
        "closed_at": meeting.closed_at,
        "counts": counts,
    }


def _with_counts(meetings):
    return meetings.select_related("stage__year", "unit").annotate(
        n_green=Count("ratings", filter=Q(ratings__colour="green")),
        n_yellow=Count("ratings", filter=Q(ratings__colour="yellow")),
        n_red=Count("ratings", filter=Q(ratings__colour="red")),
        n_missing=Count("ratings", filter=Q(ratings__colour="")),
    )


def meetings(integration, *, year=None, state=None):
    found = access.meetings_in_scope(integration)
    if year is not None:
        found = found.filter(stage__year__year=year)
    if state:
        found = found.filter(state=state)
    return Rows(
        _with_counts(found).order_by("-stage__year__year", "-stage__number", "unit__code", "pk"),
        lambda page: [_meeting(meeting) for meeting in page],
    )


def _rating(rating):
    task = rating.task
    return {
        "task_id": task.pk,
        "title": task.title,
        "department": _unit(task.department),
        "owner": _person(task.owner),
        "final_score": _number(rating.final_score),
        "light": rating.colour or MISSING,
        "decision": rating.decision,
        "next_stage_target": rating.next_stage_target,
    }


def meeting(meeting):
    """A meeting with its attendees and the final score of each of its tasks."""
    meeting = _with_counts(ReviewMeeting.objects.filter(pk=meeting.pk)).get()
    ratings = (
        Rating.objects.filter(meeting=meeting)
        .select_related("task__department", "task__owner")
        .order_by("task__department__code", "task_id")
    )
    return {
        **_meeting(meeting),
        "attendees": [_person(user) for user in meeting.attendees.order_by("name", "pk")],
        "ratings": [_rating(rating) for rating in ratings],
    }


def minutes(meeting):
    """The minutes of a closed meeting (reviews.queries.minutes), names only."""
    found = review_queries.minutes(meeting)
    return {
        "meeting": _meeting(_with_counts(ReviewMeeting.objects.filter(pk=meeting.pk)).get()),
        "attendees": [_person(user) for user in found.attendees],
        "counts": {key: found.counts.get(key, 0) for key in ("green", "yellow", "red", MISSING)},
        "follow_up": [_rating(rating) for rating in found.follow_up],
        "commended": [_rating(rating) for rating in found.commended],
        "amendments": [
            {
                "task_id": rating.task_id,
                "old_score": _number(amendment.old_score),
                "new_score": _number(amendment.new_score),
                "old_light": amendment.old_colour,
                "new_light": amendment.new_colour,
                "reason": amendment.reason,
                "by": _person(amendment.amended_by),
                "at": amendment.amended_at,
            }
            for rating, amendment in found.amendments
        ],
        "instructions": [
            {
                "task_id": comment.task_id,
                "text": comment.text,
                "by": _person(comment.instructed_by),
                "at": comment.instructed_at,
            }
            for comment in found.instructions
        ],
        "changes": [
            {
                "task_id": change.task_id,
                "kind": change.kind,
                "before": str(change.before or ""),
                "after": str(change.after or ""),
                "reason": change.reason,
                "decided_at": change.decided_at,
            }
            for change in found.changes
        ],
    }


# --- follow-up cases -----------------------------------------------------------------------

_CASE_RELATIONS = ("rating__task__department", "rating__meeting__stage__year", "inspector")


def _case(case):
    rating = case.rating
    return {
        "id": case.pk,
        "kind": case.kind,
        "state": case.state,
        "light": rating.colour or MISSING,
        "final_score": _number(rating.final_score),
        "serious": case.serious,
        "due_date": case.due_date,
        "task": {"id": rating.task.pk, "title": rating.task.title, "department": _unit(rating.task.department)},
        "year": rating.meeting.stage.year.year,
        "stage": rating.meeting.stage.number,
        "meeting_id": rating.meeting_id,
        "inspector": _person(case.inspector),
        "created_at": case.created_at,
        "closed_at": case.closed_at,
    }


def cases(integration, *, state=None, light=None):
    found = access.cases_in_scope(integration).select_related(*_CASE_RELATIONS)
    if state:
        found = found.filter(state=state)
    if light:
        found = found.filter(rating__colour=light)
    return Rows(found.order_by("due_date", "pk"), lambda page: [_case(case) for case in page])


def get_case(integration, case_id):
    """A case with its steps and its letters (numbers and dates; not their text)."""
    case = (
        access.cases_in_scope(integration)
        .select_related(*_CASE_RELATIONS)
        .prefetch_related(
            Prefetch("events", queryset=CaseEvent.objects.select_related("actor").order_by("at", "pk")),
            Prefetch("letters", queryset=Letter.objects.order_by("issued_at", "pk")),
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        return None
    return {
        **_case(case),
        "steps": [
            {
                "at": event.at,
                "action": event.action,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "by": _person(event.actor),
            }
            for event in case.events.all()
        ],
        "letters": [
            {
                "number": letter.number,
                "kind": letter.kind,
                "issued_at": letter.issued_at,
                "acknowledged_at": letter.acknowledged_at,
                "reply_due": letter.reply_due,
            }
            for letter in case.letters.all()
        ],
    }


# --- the history of an integration account (the admin's page of the account) ----------------


@dataclass
class HistoryRow:
    at: object
    actor: object
    action: str
    changes: list  # (field, before, after), each in the reader's language


def _account_value(key, value):
    if value is None or value == "" or value == []:
        return "—"
    if key == "access":
        return IntegrationAccount.Access(value).label if value in IntegrationAccount.Access.values else value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    return value


def _account_field(key):
    if key == "token":
        return IntegrationAccount._meta.get_field("token_prefix").verbose_name
    try:
        return IntegrationAccount._meta.get_field(key).verbose_name
    except FieldDoesNotExist:
        return key


def account_history(integration):
    """What the audit trail holds of an account, newest first: who created it, changed its access,
    units or state (from what to what) and issued its tokens (their first characters only). One
    query."""
    entries = (
        AuditEntry.objects.filter(subject_type=IntegrationAccount._meta.model_name, subject_id=integration.pk)
        .select_related("actor")
        .order_by("-at", "-id")
    )
    return [
        HistoryRow(
            at=entry.at,
            actor=entry.actor,
            action=HISTORY_ACTIONS.get(entry.action, entry.action),
            changes=[
                (_account_field(key), _account_value(key, before), _account_value(key, entry.after.get(key)))
                for key in dict.fromkeys([*entry.before, *entry.after])
                for before in [entry.before.get(key)]
            ],
        )
        for entry in entries
    ]
