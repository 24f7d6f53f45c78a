"""Read helpers of the reports: the year overview, department scorecards and the early
warning, each in a fixed number of queries. Official results are the final ratings of
closed meetings."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from lightboard.lights import COLOUR_KEYS, MISSING
from reviews.models import FollowUp, Letter, Rating, ReviewMeeting
from reviews.queries import stage_results
from tasks import queries as task_queries
from tasks.models import STAGES_PER_YEAR, AssessmentYear, Department, KeyTask, SelfAssessment
from tasks.queries import standing as task_standing
from tasks.results import NO_RESULT

RANK = {"red": 0, "yellow": 1, "green": 2}
TRANSITION_LABELS = {"improved": _("Improved"), "worsened": _("Worsened"), "unchanged": _("Unchanged")}
WARNING_LABELS = {
    "red": _("Likely red"),
    "yellow": _("Likely yellow"),
    "late": _("Self-assessment late"),
    "watch": _("Watch: red or yellow last time"),
}
SOURCE_LABELS = {
    "final": _("final score so far"),
    "confirmed": _("confirmed score"),
    "self": _("self score"),
    "previous": "",
    "none": "",
}


@dataclass
class Cell:
    counts: Counter
    stage: int

    @property
    def total(self):
        return sum(self.counts[c] for c in COLOUR_KEYS)

    def share(self, colour):
        """The colour's share of the cell in percent (0 when the cell is empty)."""
        if not self.total:
            return 0
        return float((Decimal(100 * self.counts[colour]) / self.total).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))

    @property
    def shares(self):
        return {colour: self.share(colour) for colour in COLOUR_KEYS}


@dataclass
class OverviewRow:
    department: Department
    cells: list
    totals: Counter = field(default_factory=Counter)
    has_units_below: bool = False
    own: bool = False  # the unit's own tasks, beside the units below it


@dataclass
class Overview:
    year: object
    stage_numbers: list
    rows: list
    per_stage: dict
    worst: list


def cycles_under(tree, unit_id):
    """The review cycles (None: the group's; else a subsidiary's unit id) that the units at and
    below `unit_id` (None: the whole group) belong to."""
    return {tree.cycle_of(unit) for unit in tree.below(unit_id)}


def _in_cycles(meetings, cycles):
    named = [unit for unit in cycles if unit is not None]
    where = Q(unit_id__in=named)
    if None in cycles:
        where |= Q(unit__isnull=True)
    return meetings.filter(where)


def closed_stage_numbers(year, cycles=None):
    """The stages of the year that are reviewed: closed in every one of `cycles` (None: every
    cycle, the group's and the subsidiaries' own) that holds meetings this year, so that a
    report over several cycles shows a stage once all its units have their results."""
    meetings = ReviewMeeting.objects.filter(stage__year=year)
    if cycles is not None:
        meetings = _in_cycles(meetings, cycles)
    holding, closed_in = set(), defaultdict(set)
    for number, unit_id, state in meetings.values_list("stage__number", "unit_id", "state"):
        holding.add(unit_id)
        if state == ReviewMeeting.State.CLOSED:
            closed_in[number].add(unit_id)
    return sorted(number for number, closed in closed_in.items() if closed >= holding)


def closed_meetings(year):
    """The closed meetings of the year, of every cycle (the group's first at each stage)."""
    return list(
        ReviewMeeting.objects.filter(stage__year=year, state=ReviewMeeting.State.CLOSED)
        .select_related("stage__year", "unit")
        .order_by("stage__number", F("unit__code").asc(nulls_first=True))
    )


def closed_stages(year, cycles=None):
    """The stages of the year with a closed meeting (in one of `cycles`), in order."""
    return list(year.stages.filter(number__in=closed_stage_numbers(year, cycles)).order_by("number"))


def year_overview(year, unit_id=None, tree=None):
    """The units directly under `unit_id` (None: the top of the organisation) x stages, each
    unit with everything below it rolled up: the counts and shares of each colour, overall
    counts per stage, and the units with the most red and yellow results. Three queries
    whatever the depth of the tree."""
    tree = tree or task_queries.org_tree()
    numbers = closed_stage_numbers(year, cycles_under(tree, unit_id))
    counts = defaultdict(Counter)
    for department_id, number, colour in Rating.objects.filter(
        meeting__stage__year=year, meeting__state=ReviewMeeting.State.CLOSED
    ).values_list("task__department_id", "meeting__stage__number", "colour"):
        counts[department_id, number][colour] += 1
    rows = []
    per_stage = {number: Counter() for number in numbers}
    # A unit's own tasks (a subsidiary's, beside its departments') are a row of their own.
    own = [tree.units[unit_id]] if unit_id is not None and any(counts[unit_id, n] for n in numbers) else []
    for department in own + tree.children.get(unit_id, []):
        below = [department.pk] if department in own else tree.below(department.pk)
        cells = [Cell(sum((counts[unit, number] for unit in below), Counter()), number) for number in numbers]
        row = OverviewRow(
            department,
            cells,
            has_units_below=department not in own and bool(tree.children.get(department.pk)),
            own=department in own,
        )
        for cell in cells:
            row.totals.update(cell.counts)
            per_stage[cell.stage].update(cell.counts)
        rows.append(row)
    worst = sorted(
        (row for row in rows if row.totals["red"] or row.totals["yellow"]),
        key=lambda row: (-row.totals["red"], -row.totals["yellow"], row.department.code),
    )[:5]
    return Overview(year=year, stage_numbers=numbers, rows=rows, per_stage=per_stage, worst=worst)


def transition(before, after):
    """ "improved", "worsened" or "unchanged" between two lights; None without both."""
    if before not in RANK or after not in RANK:
        return None
    if RANK[after] > RANK[before]:
        return "improved"
    if RANK[after] < RANK[before]:
        return "worsened"
    return "unchanged"


@dataclass
class ScorecardRow:
    task: KeyTask
    lights: list
    scores: list
    transition: str | None

    @property
    def cells(self):
        return list(zip(self.lights, self.scores, strict=True))


@dataclass
class Scorecard:
    department: Department
    year: object
    stage_numbers: list
    rows: list
    averages: list
    counts: list
    transitions: Counter
    cases: list
    has_units_below: bool = False
    path: list = field(default_factory=list)


def department_scorecard(year, department, tree=None):
    """Every task of the unit and of the units below it (at any depth) with its lights across
    the closed stages, the change between its last two results, the weighted average score
    per stage (all those tasks, by task weight), and their cases. Five queries whatever the
    depth of the tree."""
    tree = tree or task_queries.org_tree()
    below = tree.below(department.pk)
    numbers = closed_stage_numbers(year, cycles_under(tree, department.pk))
    ratings = defaultdict(dict)
    for task_id, number, score, colour in Rating.objects.filter(
        meeting__stage__year=year, meeting__state=ReviewMeeting.State.CLOSED, task__department_id__in=below
    ).values_list("task_id", "meeting__stage__number", "final_score", "colour"):
        ratings[task_id][number] = (score, colour)
    tasks = list(
        KeyTask.objects.filter(year=year, department_id__in=below)
        .select_related("owner", "department")
        .order_by("department__code", "id")
    )
    rows = []
    weighted = {number: [Decimal(0), Decimal(0)] for number in numbers}
    counts = {number: Counter() for number in numbers}
    transitions = Counter()
    for task in tasks:
        results = ratings.get(task.pk, {})
        lights = [results.get(number, (None, MISSING))[1] or MISSING for number in numbers]
        scores = [results.get(number, (None, None))[0] for number in numbers]
        for number, (score, colour) in results.items():
            if score is not None and number in weighted:
                weighted[number][0] += task.weight * score
                weighted[number][1] += task.weight
                counts[number][colour] += 1
        rated = [light for light in lights if light in RANK]
        change = transition(rated[-2], rated[-1]) if len(rated) >= 2 else None
        if change:
            transitions[change] += 1
        rows.append(ScorecardRow(task=task, lights=lights, scores=scores, transition=change))
    averages = [
        (weighted[n][0] / weighted[n][1]).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if weighted[n][1] else None
        for n in numbers
    ]
    cases = list(
        FollowUp.objects.filter(rating__task__department_id__in=below, rating__meeting__stage__year=year)
        .select_related("rating__task", "rating__meeting__stage")
        .order_by("-rating__meeting__stage__number", "rating__task_id")
    )
    return Scorecard(
        has_units_below=len(below) > 1,
        path=tree.path(department.pk),
        department=department,
        year=year,
        stage_numbers=numbers,
        rows=rows,
        averages=averages,
        counts=[counts[n] for n in numbers],
        transitions=transitions,
        cases=cases,
    )


@dataclass
class Warning:
    task: KeyTask
    kind: str  # "red", "yellow", "late", "watch"
    score: object
    source: str  # "confirmed", "self", "previous", "none"
    previous: str | None


def upcoming_stage(year, today, cycles=None):
    """The stage of the next meeting: the first one whose two months have started and whose
    meeting has not closed (in one of `cycles`, when given: a stage is past only once every
    one of them has closed it)."""
    meetings = ReviewMeeting.objects.filter(stage__year=year, state=ReviewMeeting.State.CLOSED)
    closed_in = defaultdict(set)
    for number, unit_id in meetings.values_list("stage__number", "unit_id"):
        closed_in[number].add(unit_id)
    for stage in year.stages.order_by("number"):
        closed = cycles <= closed_in[stage.number] if cycles is not None else bool(closed_in[stage.number])
        if not closed and stage.start <= today:
            return stage
    return None


def early_warning(year, today, departments=None, cycles=None):
    """Tasks likely to be yellow or red at the next meeting, and late self-assessments.

    The rule, stated on the page: a task is likely red or yellow when the score that stands
    for the stage so far (tasks.queries.standing: the meeting's final score, else the
    leader's confirmed score, else the submitted self score) lights it so; with no score yet,
    it is late when the self-assessment due date has passed, and on watch when it was red or
    yellow at the previous meeting. Of the tasks of `departments` (ids) when given. Seven
    queries."""
    stage = upcoming_stage(year, today, cycles)
    if stage is None:
        return None, []
    tasks = KeyTask.objects.filter(year=year)
    if departments is not None:
        tasks = tasks.filter(department_id__in=departments)
    assessments = {a.task_id: a for a in SelfAssessment.objects.filter(stage=stage, task__in=tasks)}
    results = stage_results(tasks, stage_number=stage.number)
    previous = dict(
        Rating.objects.filter(
            meeting__stage__year=year,
            meeting__stage__number=stage.number - 1,
            meeting__state=ReviewMeeting.State.CLOSED,
        ).values_list("task_id", "colour")
    )
    warnings = []
    for task in tasks.select_related("department", "owner").order_by("department__code", "id"):
        before = previous.get(task.pk)
        standing = task_standing(year, assessments.get(task.pk), results.get((task.pk, stage.number), NO_RESULT))
        if standing.score is not None:
            if standing.light in ("red", "yellow"):
                warnings.append(Warning(task, standing.light, standing.score, standing.source, before))
        elif stage.self_assessment_due < today:
            warnings.append(Warning(task, "late", None, "none", before))
        elif before in ("red", "yellow"):
            warnings.append(Warning(task, "watch", None, "previous", before))
    order = {"red": 0, "late": 1, "yellow": 2, "watch": 3}
    warnings.sort(key=lambda w: (order[w.kind], w.task.department.code, w.task.pk))
    return stage, warnings


def task_scores(task):
    """The task's official result per stage (the final score and light of a closed meeting),
    with the stage's target, for the task chart: [(number, score or None, light, target)]."""
    targets = {t.stage.number: t.description for t in task.targets.select_related("stage")}
    results = {
        number: (score, colour)
        for number, score, colour in Rating.objects.filter(
            task=task, meeting__state=ReviewMeeting.State.CLOSED
        ).values_list("meeting__stage__number", "final_score", "colour")
    }
    return [
        (number, *results.get(number, (None, MISSING)), targets.get(number, ""))
        for number in range(1, STAGES_PER_YEAR + 1)
    ]


# --- year on year -------------------------------------------------------------------------


@dataclass
class YearOfUnit:
    """One department's results in one year: lights of the closed meetings, reds, tasks red
    at two meetings or more (repeat reds), follow-up cases opened and closed, letters issued."""

    year: int
    counts: Counter = field(default_factory=Counter)
    per_stage: dict = field(default_factory=lambda: defaultdict(Counter))  # stage number -> lights
    red_tasks: Counter = field(default_factory=Counter)  # task id -> its red results
    cases_opened: int = 0
    cases_closed: int = 0
    letters: int = 0

    @property
    def rated(self):
        return sum(self.counts[c] for c in COLOUR_KEYS)

    @property
    def green_share(self):
        return Cell(self.counts, 0).share("green")

    def stage_cells(self):
        """Each stage with results, as a heat-map cell (its counts and shares)."""
        return [Cell(self.per_stage[number], number) for number in sorted(self.per_stage)]

    @property
    def repeat_reds(self):
        return sum(1 for n in self.red_tasks.values() if n >= 2)


def years_compared(departments=None):
    """Every department's results year by year, newest year first, and the whole's per year:
    the group's, or of `departments` (ids) when given. Six queries whatever the number of
    departments, years and tasks."""
    years = list(AssessmentYear.objects.order_by("-year").values_list("year", flat=True))
    cells = defaultdict(dict)

    def cell(department_id, year):
        return cells[department_id].setdefault(year, YearOfUnit(year))

    ratings = Rating.objects.filter(meeting__state=ReviewMeeting.State.CLOSED)
    cases = FollowUp.objects.all()
    letters = Letter.objects.filter(case__isnull=False)
    units = Department.objects.order_by("code")
    if departments is not None:
        ratings = ratings.filter(task__department_id__in=departments)
        cases = cases.filter(rating__task__department_id__in=departments)
        letters = letters.filter(case__rating__task__department_id__in=departments)
        units = units.filter(pk__in=departments)
    for department_id, year, number, task_id, colour in ratings.values_list(
        "task__department_id", "meeting__stage__year__year", "meeting__stage__number", "task_id", "colour"
    ):
        for key in (department_id, None):
            cell(key, year).counts[colour] += 1
            cell(key, year).per_stage[number][colour] += 1
            if colour == "red":
                cell(key, year).red_tasks[task_id] += 1
    for department_id, year, state in cases.values_list(
        "rating__task__department_id", "rating__meeting__stage__year__year", "state"
    ):
        for key in (department_id, None):
            cell(key, year).cases_opened += 1
            cell(key, year).cases_closed += state == FollowUp.State.CLOSED
    for department_id, year in letters.values_list("case__rating__task__department_id", "year"):
        for key in (department_id, None):
            cell(key, year).letters += 1
    # A unit with units below it: its row is of its own tasks only (the heat map rolls them up).
    parents = set(Department.objects.filter(parent__isnull=False).values_list("parent_id", flat=True))
    rows = []
    for department in units:
        department.has_units_below = department.pk in parents
        rows.append((department, [cells[department.pk].get(year, YearOfUnit(year)) for year in years]))
    group = [cells[None].get(year, YearOfUnit(year)) for year in years]
    return {"years": years, "rows": rows, "group": group}


# --- ranking of units, and the 红黑榜 ---------------------------------------------------------


@dataclass
class RankedUnit:
    department: Department
    score: Decimal | None  # weighted mean of its tasks' final scores (task weights)
    counts: Counter
    rank: int = 0
    has_units_below: bool = False
    own: bool = False  # the unit's own tasks, beside the units below it


def ranking(stage, *, by="score", unit_id=None, tree=None):
    """The units directly under `unit_id` (None: the top of the organisation) ranked at a
    stage's closed meetings (the group's and the subsidiaries' own), each with everything
    below it rolled up: its score is the weighted mean of
    the final scores of all its tasks and its units' tasks (by task weight), its counts their
    lights. Ranked by score, or by lights (fewest reds, then fewest yellows, then most greens).
    Equal places share a rank (1, 2, 2, 4). Two queries whatever the depth and the size."""
    tree = tree or task_queries.org_tree()
    totals = defaultdict(lambda: [Decimal(0), Decimal(0), Counter()])
    for department_id, weight, score, colour in Rating.objects.filter(
        meeting__stage=stage, meeting__state=ReviewMeeting.State.CLOSED, final_score__isnull=False
    ).values_list("task__department_id", "task__weight", "final_score", "colour"):
        entry = totals[department_id]
        entry[0] += weight * score
        entry[1] += weight
        entry[2][colour] += 1
    units = []
    # A unit's own tasks (a subsidiary's, beside its departments') are ranked as a unit of their own.
    own = [tree.units[unit_id]] if unit_id is not None and totals[unit_id][1] else []
    for department in own + tree.children.get(unit_id, []):
        weighted, weights, counts = Decimal(0), Decimal(0), Counter()
        for below in [department.pk] if department in own else tree.below(department.pk):
            weighted += totals[below][0]
            weights += totals[below][1]
            counts.update(totals[below][2])
        if weights:
            score = (weighted / weights).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            units.append(
                RankedUnit(
                    department,
                    score,
                    counts,
                    has_units_below=department not in own and bool(tree.children.get(department.pk)),
                    own=department in own,
                )
            )

    def key(unit):
        if by == "lights":
            return (unit.counts["red"], unit.counts["yellow"], -unit.counts["green"])
        return (-unit.score,)

    units.sort(key=lambda unit: (*key(unit), unit.department.code))
    for position, unit in enumerate(units, start=1):
        previous = units[position - 2] if position > 1 else None
        unit.rank = previous.rank if previous is not None and key(previous) == key(unit) else position
    return units


def honour_entries(meeting):
    """The green tasks to commend and the red ones to name at a closed meeting, as they would
    be frozen in the 红黑榜. One query."""
    entries = {"green": [], "red": []}
    for rating in (
        Rating.objects.filter(meeting=meeting, colour__in=["green", "red"])
        .select_related("task__department", "task__owner")
        .order_by("-final_score", "task__department__code", "task_id")
    ):
        entries[rating.colour].append(
            {
                "task": rating.task.title,
                "department": rating.task.department.name,
                "owner": str(rating.task.owner),
                "score": f"{rating.final_score}",
            }
        )
    entries["red"].reverse()  # the lowest first
    return entries
