"""Read helpers of the reviews app: the rows the confirmation queue, the review board,
meeting mode and the minutes read, each in a fixed number of queries."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import (
    Case,
    Count,
    FilteredRelation,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from lightboard.jinja2 import url_maker
from lightboard.lights import COLOUR_KEYS, MISSING, light_of
from lightboard.roles import can_read_all
from lightboard.statements import CompiledQuery
from tasks import access as task_access
from tasks import queries as task_queries
from tasks.models import Department, KeyTask, SelfAssessment, StageTarget
from tasks.results import CaseLink, StageResult

from . import access
from .cases import CLOSED_STATES
from .models import (
    Accountability,
    Confirmation,
    FollowUp,
    Letter,
    Rating,
    RatingAmendment,
    Rectification,
    ReviewMeeting,
)

BOARD_KEYS = (*COLOUR_KEYS, MISSING)
DISCUSSION_ORDER = {"red": 0, "yellow": 1, MISSING: 2}
# Above this many tasks the board opens on its departments' counts, rows loaded on demand.
BOARD_SUMMARY_ABOVE = 300


def _confirmed_scores(tasks):
    # Unordered: the rows go into a dictionary.
    return (
        Confirmation.objects.filter(assessment__task__in=tasks)
        .order_by()
        .values_list("assessment__task_id", "assessment__stage__number", "score")
    )


def _final_results(tasks):
    # Unordered: Rating's default order (by meeting and task, so by their own orders) would cost
    # two joins.
    return (
        Rating.objects.filter(task__in=tasks, final_score__isnull=False)
        .order_by()
        .values_list(
            "task_id",
            "meeting__stage__number",
            "final_score",
            "colour",
            "follow_up__id",
            "follow_up__kind",
            "follow_up__state",
        )
    )


# My tasks and the task page read them for a list of task ids: compiled once per process.
CONFIRMED_SCORES = CompiledQuery(_confirmed_scores, 1)
FINAL_RESULTS = CompiledQuery(_final_results, 1)


def stage_results(tasks, stage_number=None):
    """The confirmed score, the final score with its light and the follow-up case of each
    (task, stage number) of the given tasks that has any (of one stage, if given): the source of
    tasks.results. Two queries whatever the number of tasks."""
    found = defaultdict(dict)
    if isinstance(tasks, list) and stage_number is None:
        confirmed, rated = CONFIRMED_SCORES.rows(tasks), FINAL_RESULTS.rows(tasks)
    else:
        confirmed, rated = _confirmed_scores(tasks), _final_results(tasks)
        if stage_number is not None:
            confirmed = confirmed.filter(assessment__stage__number=stage_number)
            rated = rated.filter(meeting__stage__number=stage_number)
    for task_id, number, score in confirmed:
        found[task_id, number]["confirmed"] = score
    case_url = url_maker("reviews:case")
    for task_id, number, score, colour, case_id, kind, state in rated:
        found[task_id, number].update(final=score, final_light=colour)
        if case_id is not None:
            found[task_id, number]["case"] = CaseLink(
                label=f"{FollowUp.Kind(kind).label} · {FollowUp.State(state).label}",
                url=case_url(case_id),
            )
    return {key: StageResult(**values) for key, values in found.items()}


def confirmed_scores(stage, tasks=None):
    """The division leaders' confirmed score of each task (of the given ones) for the stage:
    {task id: score}. One query."""
    confirmations = Confirmation.objects.filter(assessment__stage=stage)
    if tasks is not None:
        confirmations = confirmations.filter(assessment__task__in=tasks)
    return dict(confirmations.values_list("assessment__task_id", "score"))


QUEUE_PAGE_SIZE = 100


@dataclass
class ConfirmationQueue:
    stages: list  # QueueStage, each with its rows
    total: int
    page: int
    pages: int


@dataclass
class QueueRow:
    assessment: SelfAssessment
    target: str
    light: str  # the light the self score would give


@dataclass
class QueueStage:
    stage: object
    rows: list


def _confirmation_rows(waiting):
    # A stage is of its task's year: read the year once, through the task (a join fewer to plan).
    return (
        waiting.select_related("task__department__division_leader", "task__owner", "task__year", "stage")
        .annotate(queue_total=Window(Count("id")))
        .order_by("task__year__year", "stage__number", "submitted_at", "id")
    )


# The division leader's landing screen: its first page and the targets of its rows, compiled
# once per process.
FIRST_CONFIRMATION_PAGE = CompiledQuery(
    lambda leader_ids: _confirmation_rows(access.assessments_to_confirm(leader_ids))[:QUEUE_PAGE_SIZE],
    1,
)
STAGE_TARGETS = CompiledQuery(
    lambda task_ids, stage_ids: (
        StageTarget.objects.filter(task_id__in=task_ids, stage_id__in=stage_ids)
        .order_by()  # into a dictionary: StageTarget's default order would join the tasks' departments
        .values_list("task_id", "stage_id", "description")
    ),
    2,
)


def confirmation_queue(user, page=1, per_page=QUEUE_PAGE_SIZE):
    """Submitted self-assessments of the departments the user leads, a page at a time, grouped
    by stage (earliest first) and oldest first within it, each with its task, its stage's target,
    the light of its self score and its evidence. Three queries whatever the number: the page's
    rows carry the count of them all (a window function); a page past the last shows the last
    (two queries more, only then)."""
    leader_ids = task_access.leading_as(user)
    page = max(page, 1)
    if page == 1 and per_page == QUEUE_PAGE_SIZE:
        assessments = FIRST_CONFIRMATION_PAGE.instances(leader_ids)
    else:
        waiting = access.assessments_to_confirm(leader_ids)
        assessments = list(_confirmation_rows(waiting)[(page - 1) * per_page : page * per_page])
        if not assessments and page > 1:
            page = max(1, -(-waiting.count() // per_page))
            assessments = list(_confirmation_rows(waiting)[(page - 1) * per_page : page * per_page])
    prefetch_related_objects(assessments, "evidence")
    total = assessments[0].queue_total if assessments else 0
    pages = max(1, -(-total // per_page))
    targets = {
        (task_id, stage_id): text
        for task_id, stage_id, text in STAGE_TARGETS.rows(
            sorted({a.task_id for a in assessments}), sorted({a.stage_id for a in assessments})
        )
    }
    stages = {}
    for a in assessments:
        if a.stage.year_id == a.task.year_id:
            a.stage.year = a.task.year
        group = stages.setdefault(a.stage_id, QueueStage(a.stage, []))
        group.rows.append(QueueRow(a, targets.get((a.task_id, a.stage_id), ""), light_of(a.completion, a.task.year)))
    return ConfirmationQueue(stages=list(stages.values()), total=total, page=page, pages=pages)


class BoardRow(NamedTuple):
    """A tuple, so that the board's template unpacks it instead of looking up each field."""

    rating_id: int
    task_id: int
    title: str
    owner: str
    owner_id: int
    self_score: object
    confirmed_score: object
    final_score: object
    light: str
    earlier: tuple  # the lights of the earlier stages, in order; a tuple so that it can key a cache


@dataclass
class BoardDepartment:
    """What the board shows of a department: read as values, not as a model instance."""

    pk: int
    name: str

    def __str__(self):
        return self.name


@dataclass
class DepartmentGroup:
    department: BoardDepartment
    rows: list = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


@dataclass
class Board:
    meeting: ReviewMeeting
    groups: list
    totals: Counter
    earlier_numbers: list

    @property
    def size(self):
        """The number of tasks on the board, whatever the colour filter."""
        return sum(self.totals.values())


def _person(name, first_name, last_name, username):
    """str(User) from the values of its fields (the board reads values, not instances)."""
    return name or f"{first_name} {last_name}".strip() or username


def _board_ratings(meeting_id, stage_id, department_id=None, owner_id=None):
    """The board's rows as values: each rating with its task, owner, department, and the stage's
    self-assessment and confirmation."""
    # The stage's self-assessment of each task, joined (at most one per task and stage).
    current = FilteredRelation("task__assessments", condition=Q(task__assessments__stage_id=stage_id))
    ratings = (
        Rating.objects.filter(meeting_id=meeting_id)
        .annotate(current=current)
        .order_by("task__department__code", "task__deadline", "task_id")
    )
    if department_id:
        ratings = ratings.filter(task__department_id=department_id)
    if owner_id:
        ratings = ratings.filter(task__owner_id=owner_id)
    return ratings.values_list(
        "pk",
        "task_id",
        "task__title",
        "task__owner_id",
        "task__owner__name",
        "task__owner__first_name",
        "task__owner__last_name",
        "task__owner__username",
        "task__department_id",
        "task__department__name",
        "final_score",
        "colour",
        "current__completion",
        "current__state",
        "current__confirmation__score",
    )


def _earlier_lights(year_id, number):
    """One row per task with a column per stage before `number` (not a row per task and stage:
    at stage 6 of a 4,000-task year that is 4,000 rows to read instead of 20,000)."""
    columns = {
        f"stage_{earlier}": Max(Case(When(meeting__stage__number=earlier, then="colour"), default=Value("")))
        for earlier in range(1, number)
    }
    return (
        Rating.objects.filter(meeting__stage__year_id=year_id, meeting__stage__number__lt=number)
        .values("task_id")
        .annotate(**columns)
        .order_by()
        .values_list("task_id", *columns)
    )


# The board is read at every filter a meeting applies: compiled once per process, for each
# combination of filters (by department, by owner) and each stage number.
_BOARD_ROWS = {
    (False, False): CompiledQuery(lambda meeting_id, stage_id: _board_ratings(meeting_id, stage_id), 2),
    (True, False): CompiledQuery(lambda meeting_id, stage_id, dept: _board_ratings(meeting_id, stage_id, dept), 3),
    (False, True): CompiledQuery(
        lambda meeting_id, stage_id, owner: _board_ratings(meeting_id, stage_id, owner_id=owner), 3
    ),
    (True, True): CompiledQuery(_board_ratings, 4),
}
_EARLIER_LIGHTS = {}


def board(meeting, *, colour="", department_id=None, owner_id=None):
    """Every task of the meeting's year for its stage, grouped by department: self, confirmed
    and final score, the light and the lights of earlier stages; counts per department and
    overall (counts ignore the colour filter so the group always sees the whole picture).
    Two queries whatever the number of tasks: the ratings with their task, owner, department
    and the stage's self-assessment and confirmation (read as values: a board of thousands of
    rows would spend most of its time building model instances), and the earlier lights."""
    stage = meeting.stage
    if department_id and owner_id:
        rows = _BOARD_ROWS[True, True].rows(meeting.pk, stage.pk, department_id, owner_id)
    elif department_id or owner_id:
        rows = _BOARD_ROWS[bool(department_id), bool(owner_id)].rows(meeting.pk, stage.pk, department_id or owner_id)
    else:
        rows = _BOARD_ROWS[False, False].rows(meeting.pk, stage.pk)
    earlier_numbers = list(range(1, stage.number))
    if stage.number not in _EARLIER_LIGHTS:
        _EARLIER_LIGHTS[stage.number] = CompiledQuery(
            lambda year_id, number=stage.number: _earlier_lights(year_id, number), 1
        )
    earlier = {
        task_id: tuple([light or MISSING for light in lights])
        for task_id, *lights in _EARLIER_LIGHTS[stage.number].rows(stage.year_id)
    }
    no_earlier = (MISSING,) * len(earlier_numbers)

    submitted = set(SelfAssessment.SUBMITTED_STATES)
    owners = {}
    groups = {}
    totals = Counter()
    for (
        rating_id, task_id, title, person_id, name, first_name, last_name, username, dept_id, dept_name,
        final_score, rating_colour, completion, state, confirmed_score,
    ) in rows:  # fmt: skip
        light = rating_colour or MISSING
        group = groups.get(dept_id)
        if group is None:
            group = groups[dept_id] = DepartmentGroup(BoardDepartment(dept_id, dept_name))
        group.counts[light] += 1
        totals[light] += 1
        if colour and light != colour:
            continue
        owner = owners.get(person_id)
        if owner is None:
            owner = owners[person_id] = _person(name, first_name, last_name, username)
        group.rows.append(
            BoardRow(
                rating_id=rating_id,
                task_id=task_id,
                title=title,
                owner=owner,
                owner_id=person_id,
                self_score=completion if state in submitted else None,  # a draft's is not the department's yet
                confirmed_score=confirmed_score,
                final_score=final_score,
                light=light,
                earlier=earlier.get(task_id, no_earlier),
            )
        )
    shown = [group for group in groups.values() if group.rows or not colour]
    return Board(meeting=meeting, groups=shown, totals=totals, earlier_numbers=earlier_numbers)


def discussion_sequence(meeting, *, everything=False):
    """The ratings meeting mode steps through: those the meeting came to discuss, red, then
    yellow, then without a score, by the light the division leaders' confirmed scores gave them
    (so a task stays in its place once the group has rated it); or every task. Each group in
    department order. One query."""
    confirmed = Confirmation.objects.filter(
        assessment__task=OuterRef("task"), assessment__stage=meeting.stage_id
    ).values("score")[:1]
    rows = (
        Rating.objects.filter(meeting=meeting)
        .annotate(confirmed=Subquery(confirmed))
        .order_by("task__department__code", "task__deadline", "task_id")
        .values_list("pk", "confirmed")
    )
    year = meeting.stage.year
    lit = [(pk, light_of(score, year)) for pk, score in rows]
    if not everything:
        lit = [item for item in lit if item[1] in DISCUSSION_ORDER]
        lit.sort(key=lambda item: DISCUSSION_ORDER[item[1]])
    return [pk for pk, _light in lit]


@dataclass
class Discussion:
    """Where meeting mode stands: the rating on screen, its place in the sequence, its neighbours."""

    rating_id: int
    position: int
    total: int
    previous_id: int | None
    next_id: int | None
    everything: bool


def discussion(meeting, *, requested=None, everything=False):
    """The rating meeting mode shows: the requested one, else the first to discuss. A task not
    among those to discuss (green, say) is shown within every task. None when there is nothing
    to discuss."""
    sequence = discussion_sequence(meeting, everything=everything)
    if requested is not None and requested not in sequence:
        everything, sequence = True, discussion_sequence(meeting, everything=True)
    if not sequence:
        return None
    index = sequence.index(requested) if requested in sequence else 0
    return Discussion(
        rating_id=sequence[index],
        position=index + 1,
        total=len(sequence),
        previous_id=sequence[index - 1] if index > 0 else None,
        next_id=sequence[index + 1] if index + 1 < len(sequence) else None,
        everything=everything,
    )


@dataclass
class ClosingCheck:
    """What closing the meeting would leave behind: tasks added to the year since the meeting
    opened (not on the board yet), tasks without a final score (closing waits for both) and red
    or yellow tasks without a handling decision (the minutes would say "—")."""

    not_on_board: list
    unscored: list
    undecided: list
    counts: Counter

    @property
    def may_close(self):
        return not (self.not_on_board or self.unscored)


def closing_check(meeting):
    """The meeting's tasks as closing would freeze them, checked. Three queries."""
    ratings = list(
        Rating.objects.filter(meeting=meeting)
        .select_related("task__department", "task__owner")
        .order_by("task__department__code", "task__deadline", "task_id")
    )
    not_on_board = list(
        KeyTask.objects.filter(
            year=meeting.stage.year_id, department_id__in=task_queries.org_tree().in_cycle(meeting.unit_id)
        )
        .exclude(ratings__meeting=meeting)
        .select_related("department")
        .order_by("department__code", "id")
    )
    return ClosingCheck(
        not_on_board=not_on_board,
        unscored=[r for r in ratings if r.final_score is None],
        undecided=[r for r in ratings if r.colour in ("red", "yellow") and not r.decision.strip()],
        counts=Counter(r.colour or MISSING for r in ratings),
    )


def rating_detail(rating_id, meeting):
    """One rating with everything meeting mode shows about its task."""
    rating = (
        Rating.objects.select_related("task__department", "task__owner", "updated_by", "meeting__stage__year")
        .prefetch_related("amendments__amended_by")
        .get(pk=rating_id, meeting=meeting)
    )
    stage = meeting.stage
    assessment = (
        SelfAssessment.objects.filter(task_id=rating.task_id, stage=stage)
        .select_related("confirmation__confirmed_by")
        .prefetch_related("evidence")
        .first()
    )
    target = StageTarget.objects.filter(task_id=rating.task_id, stage=stage).values_list("description", flat=True)
    next_target = StageTarget.objects.filter(task_id=rating.task_id, stage__number=stage.number + 1).values_list(
        "description", flat=True
    )
    return {
        "rating": rating,
        "assessment": assessment,
        "confirmation": getattr(assessment, "confirmation", None) if assessment else None,
        "target": target.first() or "",
        "planned_next_target": next_target.first() or "",
    }


@dataclass
class Minutes:
    meeting: ReviewMeeting
    attendees: list
    counts: Counter
    follow_up: list
    commended: list
    amendments: list
    instructions: list
    changes: list


def minutes(meeting):
    """The meeting minutes (会议纪要): attendees, counts by colour, every red and yellow task
    with its decision, the commendation list of green ones, and the leadership's instructions
    (批示) and the changes it approved to the year's tasks since the previous meeting closed."""
    ratings = list(
        Rating.objects.filter(meeting=meeting)
        .select_related("task__department", "task__owner")
        .order_by("task__department__code", "task_id")
    )
    # The amendments with their authors in one query (few ratings are amended), in the
    # ratings' order and each rating's own order of amendments.
    amended = defaultdict(list)
    for amendment in RatingAmendment.objects.filter(rating__meeting=meeting).select_related("amended_by"):
        amended[amendment.rating_id].append(amendment)
    order = {"red": 0, "yellow": 1}
    since = previous_close(meeting)
    cycle = task_queries.org_tree().in_cycle(meeting.unit_id)
    return Minutes(
        meeting=meeting,
        attendees=list(meeting.attendees.order_by("username")),
        counts=Counter(r.colour or MISSING for r in ratings),
        follow_up=sorted((r for r in ratings if r.colour in order), key=lambda r: order[r.colour]),
        commended=[r for r in ratings if r.colour == "green"],
        amendments=[(r, a) for r in ratings for a in amended.get(r.pk, ())],
        instructions=task_queries.instructions_given(
            meeting.stage.year, after=since, until=meeting.closed_at, departments=cycle
        ),
        changes=task_queries.changes_approved(
            meeting.stage.year, after=since, until=meeting.closed_at, departments=cycle
        ),
    )


def previous_close(meeting):
    """When the meeting of the same cycle before this one (of any year) closed, or None."""
    return (
        ReviewMeeting.objects.filter(
            unit_id=meeting.unit_id, state=ReviewMeeting.State.CLOSED, closed_at__lt=meeting.closed_at
        )
        .order_by("-closed_at")
        .values_list("closed_at", flat=True)
        .first()
    )


def cycles_in_reach(user):
    """The review cycles the user's roles reach: the group's (None) for group-wide roles, and
    each subsidiary's that runs its own, at or below the user's unit."""
    own = [] if user.unit_id else [None]
    # The units that run their own cycle, in code order (as org_tree().cycles() lists them),
    # without reading every unit.
    running = Department.objects.filter(runs_own_cycle=True).order_by("code")
    return own + [unit for unit in running if task_access.covers_cycle(user, unit.pk)]


def meetings_of_year(year, unit=None):
    """The year's six stages with the meetings of a cycle (the group's, or a subsidiary's). Two
    queries (the list shows no attendees: none are read)."""
    meetings = {m.stage_id: m for m in ReviewMeeting.objects.filter(stage__year=year, unit=unit).order_by()}
    return [(stage, meetings.get(stage.pk)) for stage in year.stages.order_by("number")]


CASE_PAGE_SIZE = 100
# The columns a person's name is told from (User.__str__).
PERSON_NAME = ("name", "first_name", "last_name", "username")


@dataclass
class FollowUpQueue:
    cases: list
    counts: Counter
    overdue: int
    total: int = 0
    page: int = 1
    pages: int = 1


def _count(ratings):
    """A correlated count of `ratings`, as a subquery the queue's one query carries."""
    return Coalesce(Subquery(ratings.order_by().values("colour").annotate(n=Count("id")).values("n")[:1]), 0)


def _line_of(task):
    """The ids of the task's line through the years: the tasks it was carried over from and
    into, oldest first (ids only; a query per year it spans, one for a task of one year)."""
    line, earlier = [task.pk], task.carried_from_id
    while earlier:
        line.insert(0, earlier)
        earlier = KeyTask.objects.filter(pk=earlier).values_list("carried_from_id", flat=True).first()
    later = KeyTask.objects.filter(carried_from_id=task.pk).values_list("pk", flat=True).first()
    while later:
        line.append(later)
        later = KeyTask.objects.filter(carried_from_id=later).values_list("pk", flat=True).first()
    return line


def _reds_of(ratings, line, owner_id):
    return (
        ratings.filter(Q(task_id__in=line) | Q(task__owner_id=owner_id), colour=Rating.Colour.RED)
        .select_related("meeting__stage__year", "task")
        .order_by("meeting__stage__year__year", "meeting__stage__number", "task_id")
    )


# The case page, for those whose role reaches the whole group: compiled once per process.
GROUP_REDS = CompiledQuery(lambda line, owner_id: _reds_of(Rating.objects.all(), line, owner_id), 2)


def reds_across_years(case, user):
    """The red results of the case's task line through the years (the task and those it was
    carried from or into) and of its owner's tasks in the units the user's role reaches, oldest
    first. Two queries or so."""
    task = case.rating.task
    line = _line_of(task)
    # Both lists in one query, split here (a red of the line is usually the owner's too).
    if task_access.scope_of(user) is None:
        reds = GROUP_REDS.instances(line, task.owner_id)
    else:
        reds = list(
            _reds_of(task_access.within_scope(Rating.objects.all(), user, "task__department"), line, task.owner_id)
        )
    return {
        "task": [red for red in reds if red.task_id in line],
        "owner": [red for red in reds if red.task.owner_id == task.owner_id],
    }


# The follow-up queue's order: red before yellow, then by due date.
QUEUE_ORDER = ("red_first", "due_date", "pk")


def _red_first():
    return Case(When(rating__colour="red", then=Value(0)), default=Value(1))


def _queue_rows(case_ids):
    """The follow-up queue's cases with what their rows show, in the queue's order."""
    return (
        FollowUp.objects.filter(pk__in=case_ids)
        .select_related(
            "rating__task__department",
            "rating__task__owner",
            "rating__meeting__stage__year",
            "rating__meeting__unit",
            "inspector",
        )
        # Only the columns the rows show (no long texts, no passwords): fewer to read and build.
        .only(
            *("id", "rating_id", "kind", "state", "serious", "serious_reason", "due_date", "inspector_id"),
            *("rating__colour", "rating__final_score", "rating__task_id", "rating__meeting_id"),
            *("rating__task__title", "rating__task__department_id", "rating__task__owner_id"),
            "rating__task__department__name",
            *(f"{person}__{name}" for person in ("rating__task__owner", "inspector") for name in PERSON_NAME),
            *("rating__meeting__unit_id", "rating__meeting__stage_id", "rating__meeting__unit__name"),
            *("rating__meeting__stage__number", "rating__meeting__stage__year_id"),
            *("rating__meeting__stage__year__year", "rating__meeting__stage__year__acknowledge_within_days"),
        )
        .annotate(
            red_first=_red_first(),
            # Correlated subqueries only: no GROUP BY over the cases.
            awaiting_review=Coalesce(
                Subquery(
                    Rectification.objects.filter(case=OuterRef("pk"), state=Rectification.State.SUBMITTED)
                    .order_by()
                    .values("case")
                    .annotate(n=Count("id"))
                    .values("n")[:1]
                ),
                0,
            ),
            # Reds across the years: of the task and the tasks it was carried over from, and
            # of every task of its owner.
            task_reds=_count(
                Rating.objects.filter(colour=Rating.Colour.RED).filter(
                    Q(task_id=OuterRef("rating__task_id"))
                    | Q(task_id=OuterRef("rating__task__carried_from_id"))
                    | Q(task_id=OuterRef("rating__task__carried_from__carried_from_id"))
                )
            ),
            owner_reds=_count(
                Rating.objects.filter(colour=Rating.Colour.RED, task__owner_id=OuterRef("rating__task__owner_id"))
            ),
            unacknowledged_since=Subquery(
                access.letters_awaiting_acknowledgement()
                .filter(case=OuterRef("pk"))
                .order_by("issued_at")
                .values("issued_at")[:1]
            ),
        )
        .order_by(*QUEUE_ORDER)
    )


# The follow-up queue's page of cases: compiled once per process for each page length.
QUEUE_ROWS = CompiledQuery(_queue_rows, 1)


def follow_up_queue(
    *, user, today, colour="", department_id=None, state="", inspector_ids=None, page=1, per_page=CASE_PAGE_SIZE
):
    """Open cases (or those of one state) of the units the user's role reaches, red before
    yellow, then by due date, a page at a time; the counts at the top are of all those open
    cases whatever the filters. Three queries (four for a role held at a unit) whatever the
    number of cases (two more for a page past the last, which shows the last)."""
    reach = access.cases_in_reach(user)
    open_cases = reach.exclude(state__in=CLOSED_STATES)
    # The counts by colour and the overdue count in one grouped query.
    grouped = open_cases.values_list("rating__colour").annotate(
        n=Count("id"), late=Count("id", filter=Q(due_date__lt=today))
    )
    grouped = list(grouped.order_by())
    counts = Counter({colour: n for colour, n, _late in grouped})
    overdue = sum(late for _colour, _n, late in grouped)
    cases = reach.filter(state=state) if state else open_cases
    if colour:
        cases = cases.filter(rating__colour=colour)
    if department_id:
        cases = cases.filter(rating__task__department_id=department_id)
    if inspector_ids:
        cases = cases.filter(inspector_id__in=inspector_ids)
    red_first, order = _red_first(), QUEUE_ORDER

    def page_of(number):
        """The page's case ids, each with the number of cases (one query reading only the sort keys)."""
        start = (number - 1) * per_page
        numbered = cases.annotate(red_first=red_first, total=Window(Count("pk"))).order_by(*order)
        return list(numbered.values_list("pk", "total")[start : start + per_page])

    # The page's cases are chosen first; their counts and links are then worked out for those
    # rows alone, whatever the page's number. (Computed over every case, or every case before a
    # late page's offset, they made a plan costly enough for PostgreSQL's JIT to spend a second
    # compiling it at 4,000 tasks.)
    page = max(page, 1)
    chosen = page_of(page)
    if chosen:
        total = chosen[0][1]
    else:  # an empty first page has no cases; past the last page, the last page is shown
        total = cases.count() if page > 1 else 0
        page = max(1, -(-total // per_page))
        chosen = page_of(page) if total else []
    pages = max(1, -(-total // per_page))
    shown = QUEUE_ROWS.instances([pk for pk, _total in chosen])
    for case in shown:
        case.is_overdue = case.state not in CLOSED_STATES and case.due_date < today
        # A letter not acknowledged (签收) within the year's days is the inspector's to chase.
        since = case.unacknowledged_since
        case.unacknowledged_days = (today - timezone.localdate(since)).days if since else None
        case.acknowledgement_overdue = (
            since is not None and case.unacknowledged_days > case.rating.meeting.stage.year.acknowledge_within_days
        )
    return FollowUpQueue(cases=shown, counts=counts, overdue=overdue, total=total, page=page, pages=pages)


BANNER_TASKS = 8


def _commendation_rows(letters):
    """The notices' rows joined to their meetings' green ratings, newest notice first; one more
    than shown tells whether there are more."""
    return (
        letters.annotate(green=FilteredRelation("meeting__ratings", condition=Q(meeting__ratings__colour="green")))
        .values_list("pk", "kind", "series", "year", "sequence", "green__task__title", "green__task__department__name")
        .order_by("-issued_at", "-id", "green__task__department__code", "green__task_id")[: BANNER_TASKS + 1]
    )


def _commendations():
    return Letter.objects.filter(kind="commendation")


def _sent_to(user_id):
    return Letter.notifications.through.objects.filter(notification__recipient_id=user_id).values("letter_id")


# The banner is on each role's landing screen: compiled once per process, one query for those
# who read the whole group, one for the others (the group's notices and those sent to them).
GROUP_COMMENDATION_ROWS = CompiledQuery(
    lambda: _commendation_rows(_commendations().filter(meeting__unit__isnull=True)), 0
)
USER_COMMENDATION_ROWS = CompiledQuery(
    lambda user_id: _commendation_rows(
        _commendations().filter(
            Q(meeting__unit__isnull=True)
            | Q(
                pk__in=Letter.notifications.through.objects.filter(notification__recipient_id=user_id).values(
                    "letter_id"
                )
            )
        )
    ),
    1,
)


def latest_commendation(user=None):
    """The newest commendation notice of the group's meetings or (for a subsidiary's people) of
    a subsidiary's that was sent to the user, with its first few green tasks, for the landing
    screens. One query, however many tasks were green."""
    if user is None or not user.is_authenticated:
        rows = list(_commendation_rows(_commendations()))
    elif can_read_all(user) and user.unit_id is None:
        rows = GROUP_COMMENDATION_ROWS.rows()  # the group's own, on the group's screens
    else:
        rows = USER_COMMENDATION_ROWS.rows(user.pk)
    if not rows:
        return None
    pk, kind, series, year, sequence = rows[0][:5]
    # The banner shows the notice's number and link, and each green task's title and department.
    letter = Letter(pk=pk, kind=kind, series=series, year=year, sequence=sequence)
    ratings = [
        Rating(task=KeyTask(title=title, department=Department(name=department)))
        for letter_pk, *_number, title, department in rows
        if letter_pk == pk and title is not None  # None: a notice without green tasks (none should be)
    ]
    return {"letter": letter, "ratings": ratings[:BANNER_TASKS], "more": len(ratings) > BANNER_TASKS}


def latest_commendation_for(letter):
    """A commendation notice with all its green tasks, for the letter itself."""
    green = list(
        Rating.objects.filter(meeting=letter.meeting, colour="green")
        .select_related("task__department")
        .order_by("task__department__code", "task_id")
    )
    return {"letter": letter, "ratings": green}


def letter_recipients(letter):
    """The messages a letter went out as, with their recipients: who has it, who has read it."""
    return list(letter.notifications.select_related("recipient").order_by("recipient__username", "pk"))


# --- the accountability register ------------------------------------------------------------


def accountability_register(user, person_id=None):
    """Every accountability case across the years of the units the user's role reaches,
    newest first, or one person's; with the counts per state. Two queries."""
    entries = task_access.within_scope(Accountability.objects.all(), user, "case__rating__task__department")
    entries = entries.select_related(
        "person", "case__rating__task__department", "case__rating__meeting__stage__year", "decided_by",
        "exemption_decided_by",
    )  # fmt: skip
    if person_id:
        entries = entries.filter(person_id=person_id)
    entries = list(entries)
    return {"entries": entries, "counts": Counter(entry.state for entry in entries)}


def _accountability(wanted):
    return Accountability.objects.filter(wanted).select_related(
        "case__rating__meeting__stage__year", "decided_by", "exemption_requested_by", "exemption_decided_by"
    )


# The case page's register entries: compiled once per process (for those whose role reaches
# the whole group, with the owner's other entries).
CASE_ACCOUNTABILITY = CompiledQuery(lambda case_id: _accountability(Q(case_id=case_id)), 1)
CASE_AND_OWNER_ACCOUNTABILITY = CompiledQuery(
    lambda case_id, owner_id: _accountability(Q(case_id=case_id) | Q(person_id=owner_id)), 2
)


def case_accountability(case, user, *, with_register):
    """The case's entry on the accountability register (or None) and, with_register, its
    task owner's other entries (any year) in the units the user's role reaches, newest first
    (else None). One query."""
    scope = task_access.scope_of(user)
    if not with_register:
        entries = CASE_ACCOUNTABILITY.instances(case.pk)
    elif scope is None:
        entries = CASE_AND_OWNER_ACCOUNTABILITY.instances(case.pk, case.rating.task.owner_id)
    else:
        theirs = Q(person_id=case.rating.task.owner_id, case__rating__task__department__in=scope)
        entries = _accountability(Q(case_id=case.pk) | theirs)
    entry, register = None, []
    for row in entries:
        if row.case_id == case.pk:
            entry = row
        else:
            register.append(row)
    return entry, (register if with_register else None)
