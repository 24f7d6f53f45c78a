"""Read helpers of the tasks app: the querysets and rows pages read, with a fixed number
of queries whatever the number of tasks."""

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lightboard.lights import MISSING, light_of

from .access import department_ids_of
from .models import AssessmentYear, AuditEntry, Department, KeyTask, SelfAssessment, StageTarget, TaskList


def current_year(today=None):
    """The assessment year of today's calendar year, else the latest one; None if none exist."""
    today = today or timezone.localdate()
    years = AssessmentYear.objects.order_by("-year")
    return years.filter(year=today.year).first() or years.first()


def current_stage(assessment_year, today=None):
    """The stage whose two months contain today; before the year the first, after it the last."""
    today = today or timezone.localdate()
    stages = list(assessment_year.stages.order_by("number"))
    if not stages:
        return None
    for stage in stages:
        if stage.start <= today <= stage.end:
            return stage
    return stages[0] if today < stages[0].start else stages[-1]


@dataclass
class StageLight:
    number: int
    light: str
    score: object = None


@dataclass
class MyTaskRow:
    task: KeyTask
    target: str
    assessment: SelfAssessment | None
    earlier: list = field(default_factory=list)


# The reviews app adds each self-assessment's `confirmation`, each task's `ratings` and
# each rating's `follow_up` (reverse relations). Read through those names only, so tasks never imports reviews.


def _confirmed_score(assessment):
    confirmation = getattr(assessment, "confirmation", None) if assessment else None
    return confirmation.score if confirmation else None


def _final_ratings(task):
    """The task's final ratings by stage number, from meetings that have rated it."""
    return {r.meeting.stage.number: r for r in task.ratings.all() if r.final_score is not None}


def stage_light(year, assessment, rating):
    """A stage's light and the score it comes from: the meeting's final rating when there is
    one, else the leader's confirmed score, else the department's self score."""
    if rating is not None:
        return rating.colour, rating.final_score
    score = _confirmed_score(assessment)
    if score is None and assessment is not None:
        score = assessment.completion
    return (light_of(score, year) if score is not None else MISSING), score


def _stage_lights(task, assessments, year, before_number):
    """Lights of the stages before `before_number`."""
    by_number = {a.stage.number: a for a in assessments}
    ratings = _final_ratings(task)
    lights = []
    for number in range(1, before_number):
        light, score = stage_light(year, by_number.get(number), ratings.get(number))
        lights.append(StageLight(number, light, score))
    return lights


def my_task_rows(user, stage):
    """Every task of the user's departments in the stage's year, with the stage's target,
    its self-assessment and the lights of the earlier stages. Four queries."""
    year = stage.year
    tasks = (
        KeyTask.objects.filter(year=year, department_id__in=department_ids_of(user))
        .select_related("department", "owner")
        .prefetch_related(
            Prefetch("targets", queryset=StageTarget.objects.filter(stage=stage), to_attr="stage_targets"),
            "ratings__meeting__stage",
            Prefetch(
                "assessments",
                queryset=SelfAssessment.objects.filter(stage__number__lte=stage.number).select_related(
                    "stage", "confirmation"
                ),
                to_attr="stage_assessments",
            ),
        )
        .order_by("department__code", "deadline", "id")
    )
    rows = []
    for task in tasks:
        current = next((a for a in task.stage_assessments if a.stage_id == stage.pk), None)
        rows.append(
            MyTaskRow(
                task=task,
                target=task.stage_targets[0].description if task.stage_targets else "",
                assessment=current,
                earlier=_stage_lights(task, task.stage_assessments, year, stage.number),
            )
        )
    return rows


@dataclass
class StageDetail:
    stage: object
    target: str
    assessment: SelfAssessment | None
    confirmed_score: object
    final_score: object
    light: str
    case: object = None


def task_stage_details(task):
    """For each stage of the task's year: target, self-assessment (with evidence) and light."""
    stages = list(task.year.stages.order_by("number"))
    targets = {t.stage_id: t.description for t in task.targets.all()}
    assessments = {
        a.stage_id: a
        for a in task.assessments.select_related("stage", "submitted_by", "confirmation").prefetch_related("evidence")
    }
    ratings = {
        r.meeting.stage_id: r for r in task.ratings.select_related("meeting", "follow_up") if r.final_score is not None
    }
    details = []
    for stage in stages:
        assessment, rating = assessments.get(stage.pk), ratings.get(stage.pk)
        light, _score = stage_light(task.year, assessment, rating)
        details.append(
            StageDetail(
                stage=stage,
                target=targets.get(stage.pk, ""),
                assessment=assessment,
                confirmed_score=_confirmed_score(assessment),
                final_score=rating.final_score if rating else None,
                light=light,
                case=getattr(rating, "follow_up", None) if rating else None,
            )
        )
    return details


HISTORY_FIELD_LABELS = {
    "title": _("Task"),
    "standard": _("Completion standard"),
    "owner": _("Owner"),
    "deadline": _("Deadline"),
    "weight": _("Weight"),
    "cooperating_departments": _("Cooperating departments"),
    "completion": _("Completion (%)"),
    "account": _("What was done"),
    "state": _("State"),
    "evidence": _("Evidence files"),
}
STATE_LABELS = {**dict(SelfAssessment.State.choices), **dict(TaskList.State.choices)}
# Names of values by field (e.g. "colour": {"red": "红灯"}) and of actions that other apps
# record on a task's history; they add theirs with register_history_names().
VALUE_LABELS = {}
ACTION_LABELS = {}


def register_history_names(*, actions=None, fields=None, values=None, states=None):
    """Let an app that writes audit entries on tasks name its actions, fields and values, so the
    task page shows them translated (tasks never imports the apps built on it)."""
    ACTION_LABELS.update(actions or {})
    HISTORY_FIELD_LABELS.update(fields or {})
    STATE_LABELS.update(states or {})
    for name, labels in (values or {}).items():
        VALUE_LABELS.setdefault(name, {}).update(labels)


@dataclass
class HistoryRow:
    entry: AuditEntry
    action: str
    changes: list


def _history_label(key):
    if key.startswith("target_"):
        return _("Stage %(number)s target") % {"number": key.removeprefix("target_")}
    return HISTORY_FIELD_LABELS.get(key, key)


def _history_value(key, value):
    if value is None or value == "" or value == []:
        return "—"
    if key == "state":
        return STATE_LABELS.get(value, value)
    if key in VALUE_LABELS:
        return VALUE_LABELS[key].get(value, value)
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    return value


def task_history(task):
    """The task's recorded changes, newest first, with translated names of actions and fields."""
    actions = {**dict(AuditEntry.Action.choices), **ACTION_LABELS}
    rows = []
    for entry in AuditEntry.objects.filter(task=task).select_related("actor").order_by("-at", "-id"):
        keys = list(dict.fromkeys([*entry.before, *entry.after]))
        changes = [
            (_history_label(key), _history_value(key, entry.before.get(key)), _history_value(key, entry.after.get(key)))
            for key in keys
        ]
        rows.append(HistoryRow(entry=entry, action=actions.get(entry.action, entry.action), changes=changes))
    return rows


def task_list_rows(task_list):
    """The tasks of a department's list with owners, cooperating departments and targets."""
    return (
        KeyTask.objects.filter(year=task_list.year, department=task_list.department)
        .select_related("owner")
        .prefetch_related(
            "cooperating_departments",
            Prefetch("targets", queryset=StageTarget.objects.select_related("stage").order_by("stage__number")),
        )
        .order_by("deadline", "id")
    )


def task_list_overview(year):
    """Every department with its list state and task count for the year. Three queries."""
    states = dict(TaskList.objects.filter(year=year).values_list("department_id", "state"))
    counts = dict(
        KeyTask.objects.filter(year=year)
        .values("department_id")
        .annotate(n=Count("id"))
        .values_list("department_id", "n")
    )
    return [
        {
            "department": department,
            "state": TaskList.State(states.get(department.pk, TaskList.State.DRAFT)),
            "task_count": counts.get(department.pk, 0),
        }
        for department in Department.objects.select_related("division_leader").order_by("code")
    ]
