"""Read helpers of the tasks app: the querysets and rows pages read, with a fixed number
of queries whatever the number of tasks."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, FilteredRelation, OuterRef, Prefetch, Q, Subquery, prefetch_related_objects

from lightboard.lights import stage_standing
from lightboard.roles import Role
from lightboard.statements import CompiledQuery

from .access import department_ids_of, may_self_assess, within_scope
from .models import (
    AssessmentYear,
    ChangeRequest,
    Comment,
    Department,
    KeyTask,
    SelfAssessment,
    Stage,
    StageTarget,
    TaskList,
    User,
)
from .results import NO_RESULT, stage_results


def current_year(today):
    """The assessment year of today's calendar year, else the latest one; None if none exist."""
    years = AssessmentYear.objects.order_by("-year")
    return years.filter(year=today.year).first() or years.first()


def current_stage(assessment_year, today):
    """The stage whose two months contain today; before the year the first, after it the last."""
    return _stage_at(list(assessment_year.stages.order_by("number")), today)


def _stage_at(stages, today):
    if not stages:
        return None
    for stage in stages:
        if stage.start <= today <= stage.end:
            return stage
    return stages[0] if today < stages[0].start else stages[-1]


# The landing screens' stage: compiled once per process (see lightboard.statements).
STAGES_OF_YEAR = CompiledQuery(
    lambda year: Stage.objects.filter(year__year=year).select_related("year").order_by("number"), 1
)


def current_year_and_stage(today):
    """current_year(today) and current_stage of it (None without a year or stages): one query
    when today's year is set up with its stages, as it is all year round."""
    stages = STAGES_OF_YEAR.instances(today.year)
    if not stages:
        year = current_year(today)
        return year, (current_stage(year, today) if year else None)
    stage = _stage_at(stages, today)
    return stage.year, stage


def _stages_with_targets(stages, task_id):
    """The stages with the task's target for each as `target` and its self-assessment as `own`."""
    target = StageTarget.objects.filter(task_id=task_id, stage=OuterRef("pk")).values("description")[:1]
    own = FilteredRelation("assessments", condition=Q(assessments__task_id=task_id))
    return stages.annotate(target=Subquery(target), own=own).select_related("own")


# The self-assessment page's stage: compiled once per process (see lightboard.statements).
STAGE_WITH_TARGET = CompiledQuery(
    lambda task_id, year_id, number: _stages_with_targets(
        Stage.objects.filter(year_id=year_id, number=number), task_id
    ).order_by(),
    3,
)


# The task page's stages: compiled once per process.
TASK_STAGES = CompiledQuery(
    lambda task_id, year_id: _stages_with_targets(Stage.objects.filter(year_id=year_id), task_id).order_by("number"), 2
)


def stage_with_target(task, number):
    """The stage `number` of the task's year with the task's target for it as `target` ("" when
    it has none) and the task's self-assessment of it as `assessment` (None before the first
    save), in one query; None if the year has no such stage."""
    found = STAGE_WITH_TARGET.instances(task.pk, task.year_id, int(number))
    stage = found[0] if found else None
    if stage is not None:
        stage.year = task.year
        stage.target = stage.target or ""
        stage.assessment = getattr(stage, "own", None)
        if stage.assessment is not None:
            stage.assessment.task, stage.assessment.stage = task, stage
    return stage


def department_staff(department):
    """The active staff of a department: the people who fill in its lists and assessments."""
    return User.objects.filter(departments=department, groups__name=Role.STAFF.value, is_active=True)


def active_members(role, *, reaching=None):
    """The active users who hold `role`, each once; with `reaching` (a unit's id), only those
    whose role reaches that unit: held for the whole group, or at the unit or above it."""
    members = User.objects.filter(is_active=True, groups__name=role.value).distinct()
    if reaching is None:
        return members
    above = [unit.pk for unit in org_tree().path(reaching)]
    return members.filter(Q(unit__isnull=True) | Q(unit_id__in=above))


def colleagues(role, user):
    """The active holders of `role` at the user's units: all of them for a group-wide user;
    else those whose role is held within the user's unit or above it."""
    members = active_members(role)
    if user.unit_id is None:
        return members
    tree = org_tree()
    around = set(tree.below(user.unit_id)) | {unit.pk for unit in tree.path(user.unit_id)}
    return members.filter(Q(unit__isnull=True) | Q(unit_id__in=around))


def cycles_of(user):
    """The subsidiaries' own review cycles the user belongs to (by their unit or their
    departments), as unit ids; the group's cycle is everyone's and is not listed."""
    ids = set(department_ids_of(user))
    if user.unit_id:
        ids.add(user.unit_id)
    if not ids:
        return set()
    tree = org_tree()
    return {tree.cycle_of(unit_id) for unit_id in ids} - {None}


def people_of_cycle(cycle_unit_id):
    """Who a cycle's notices are for: everyone for the group's; for a subsidiary's, the people
    of its units (by department or by the unit their roles are held for) and the group-wide
    holders of a role that reads every unit."""
    users = User.objects.filter(is_active=True)
    if cycle_unit_id is None:
        return users
    below = org_tree().below(cycle_unit_id)
    readers = [role.value for role in (Role.LEADERSHIP, Role.DIVISION_LEADER, Role.INSPECTOR)]
    return users.filter(
        Q(departments__in=below) | Q(unit_id__in=below) | Q(unit__isnull=True, groups__name__in=readers)
    ).distinct()


def members_of_cycle(role, cycle_unit_id):
    """The users holding `role` for a review cycle: the group's (None) is held by those
    without a unit; a subsidiary's also by those holding it at that subsidiary or above."""
    if cycle_unit_id is None:
        return User.objects.filter(groups__name=role.value, unit__isnull=True).distinct()
    return active_members(role, reaching=cycle_unit_id)


def owner_and_staff(task):
    """Whoever answers for a task: its owner and the active staff of its department, each once."""
    people = {task.owner_id: task.owner}
    for user in department_staff(task.department):
        people.setdefault(user.pk, user)
    return list(people.values())


def returned_assessments(user, year):
    """Self-assessments of the user's departments' tasks that a division leader returned with a
    comment and that wait to be reworked, newest first (one query)."""
    return list(
        SelfAssessment.objects.filter(
            state=SelfAssessment.State.RETURNED,
            task__year=year,
            task__department_id__in=department_ids_of(user),
        )
        .select_related("task__department", "task__owner", "stage", "returned_by")
        .order_by("-updated_at", "-pk")
    )


def standing(year, assessment, result):
    """The score that stands for a task's stage and its light (lightboard.lights.stage_standing)."""
    return stage_standing(
        year,
        final=result.final,
        final_light=result.final_light,
        confirmed=result.confirmed,
        submitted=assessment.submitted_score if assessment is not None else None,
    )


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
    may_assess: bool
    earlier: list = field(default_factory=list)


@dataclass
class MyWork:
    rows: list  # MyTaskRow
    returned: list  # as returned_assessments gives them


# My tasks, the staff's landing screen: compiled once per process (see lightboard.statements).
MY_TASKS = CompiledQuery(
    lambda year_id, stage_id, department_ids: (
        KeyTask.objects.filter(year_id=year_id, department_id__in=department_ids)
        .select_related("department", "owner")
        .annotate(
            stage_target=Subquery(
                StageTarget.objects.filter(task=OuterRef("pk"), stage_id=stage_id).values("description")[:1]
            )
        )
        .order_by("department__code", "deadline", "id")
    ),
    3,
)
# Every stage's, for the returned ones; unordered: the default order would join the tasks'
# departments for nothing.
MY_ASSESSMENTS = CompiledQuery(
    lambda task_ids, year_id: (
        SelfAssessment.objects.filter(task_id__in=task_ids, stage__year_id=year_id)
        .select_related("stage", "returned_by")
        .order_by()
    ),
    2,
)


def my_work(user, stage, today):
    """The "my tasks" screen: every task of the user's departments in the stage's year, with the
    stage's target, its self-assessment and the lights of the earlier stages; and the returned
    self-assessments of the same tasks
    (returned_assessments of the stage's year) read with them. Four queries."""
    year = stage.year
    tasks = MY_TASKS.instances(year.pk, stage.pk, sorted(department_ids_of(user)))
    by_id = {task.pk: task for task in tasks}
    by_task = defaultdict(dict)
    returned = []
    for assessment in MY_ASSESSMENTS.instances(list(by_id), year.pk):
        assessment.task = by_id[assessment.task_id]
        by_task[assessment.task_id][assessment.stage.number] = assessment
        if assessment.state == SelfAssessment.State.RETURNED:
            returned.append(assessment)
    returned.sort(key=lambda a: (a.updated_at, a.pk), reverse=True)
    results = stage_results(list(by_id))
    rows = []
    for task in tasks:
        by_number = by_task[task.pk]
        earlier = []
        for number in range(1, stage.number):
            standing_then = standing(year, by_number.get(number), results.get((task.pk, number), NO_RESULT))
            earlier.append(StageLight(number, standing_then.light, standing_then.score))
        current = by_number.get(stage.number)
        rows.append(
            MyTaskRow(
                task=task,
                target=task.stage_target or "",
                assessment=current,
                may_assess=may_self_assess(user, task, stage, current, today),
                earlier=earlier,
            )
        )
    return MyWork(rows=rows, returned=returned)


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
    """For each stage of the task's year: target, self-assessment (with evidence), the confirmed
    and final scores, the light that stands and the follow-up case. Four queries (three when no
    stage is self-assessed yet): the stages with their targets and the task's self-assessments
    are read together."""
    stages = TASK_STAGES.instances(task.pk, task.year_id)
    assessments = {}
    for stage in stages:
        stage.year = task.year
        assessment = getattr(stage, "own", None)  # absent when the stage has no self-assessment
        if assessment is not None:
            assessment.task, assessment.stage = task, stage
            assessments[stage.number] = assessment
    prefetch_related_objects(list(assessments.values()), "evidence")
    results = stage_results([task.pk])
    details = []
    for stage in stages:
        assessment = assessments.get(stage.number)
        result = results.get((task.pk, stage.number), NO_RESULT)
        details.append(
            StageDetail(
                stage=stage,
                target=stage.target or "",
                assessment=assessment,
                confirmed_score=result.confirmed,
                final_score=result.final,
                light=standing(task.year, assessment, result).light,
                case=result.case,
            )
        )
    return details


@dataclass
class TaskFacts:
    task_list: TaskList | None  # None while the department has no list for the year
    cooperating: list  # Department, in code order
    carried_into_id: int | None  # the task it was carried over into, if any


def _task_facts(task_id, year_id, department_id):
    lists = TaskList.objects.filter(year_id=year_id, department_id=department_id).order_by("pk")
    return (
        KeyTask.objects.filter(pk=task_id)
        .annotate(list_state=Subquery(lists.values("state")[:1]))
        .values_list(
            "list_state",
            "carried_into__id",
            "cooperating_departments__id",
            "cooperating_departments__code",
            "cooperating_departments__name",
        )
        .order_by("cooperating_departments__code")
    )


# On every task page: compiled once per process (see lightboard.statements).
TASK_FACTS = CompiledQuery(_task_facts, 3)


def task_facts(task):
    """What the task's page shows around the task: its department's list for the year, its
    cooperating departments and the task it was carried over into. One query: a row per
    cooperating department (one without any), each with the list's state and the later task."""
    rows = TASK_FACTS.rows(task.pk, task.year_id, task.department_id)
    list_state, carried_into_id = rows[0][:2]
    # A list always has a state: none means the department has no list for the year yet.
    task_list = None if list_state is None else TaskList(year=task.year, department=task.department, state=list_state)
    cooperating = [Department(pk=pk, code=code, name=name) for *_facts, pk, code, name in rows if pk is not None]
    return TaskFacts(task_list, cooperating, carried_into_id)


def task_list_of(year, department):
    """The department's list for the year; a department that has none yet reads as an empty
    draft (unsaved: the services write the row with the first change)."""
    return TaskList.objects.filter(year=year, department=department).first() or TaskList(
        year=year, department=department
    )


def task_list_rows(task_list):
    """The tasks of a department's list with owners, cooperating departments and targets."""
    return (
        KeyTask.objects.filter(year=task_list.year, department=task_list.department)
        .select_related("owner")
        .prefetch_related(
            "cooperating_departments",
            # Only the targets' text is shown: their stages are joined to order them, not read.
            Prefetch("targets", queryset=StageTarget.objects.order_by("stage__number")),
        )
        .order_by("deadline", "id")
    )


def task_list_overview(year, user):
    """Every department the user's roles reach with its list state and task count for the
    year. Three queries (four for a role held at a unit)."""
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
        for department in within_scope(Department.objects.select_related("division_leader"), user, "pk").order_by(
            "code"
        )
    ]


# --- discussions -------------------------------------------------------------------------


def _comments():
    return Comment.objects.select_related("author", "instructed_by").prefetch_related("revisions")


def thread_comments(task, thread=""):
    """A discussion of the task, oldest first, with earlier versions of edited comments. Three
    queries however many comments."""
    return list(_comments().filter(task=task, thread=thread))


def thread_with_instructions(task, thread):
    """thread_comments(task, thread) of another thread than the task's own (a case's), and the
    task's instructions (instructions_among), read together: two queries however many comments."""
    both = list(_comments().filter(Q(thread=thread) | Q(thread="", is_instruction=True), task=task))
    return [c for c in both if c.thread == thread], instructions_among(c for c in both if c.thread == "")


def instructions_among(comments):
    """The instructions (批示) among the comments of a task's own discussion (thread_comments),
    newest first (those in a case's discussion stay there: not everyone who reads the task may
    read the case): for the task's page, which reads that discussion anyway."""
    marked = sorted((comment for comment in comments if comment.is_instruction), key=lambda c: c.pk, reverse=True)
    # As PostgreSQL orders "-instructed_at", "-id": one without a time (none should be) first.
    untimed = [comment for comment in marked if comment.instructed_at is None]
    timed = sorted((c for c in marked if c.instructed_at is not None), key=lambda c: c.instructed_at, reverse=True)
    return untimed + timed


def instructions_given(year, *, after, until, departments=None):
    """The instructions (批示) in the year's tasks' own discussions (of `departments`' tasks
    when given) marked after `after` (None: from the start) up to `until`, in the order given,
    with their tasks. One query."""
    given = Comment.objects.filter(is_instruction=True, thread="", task__year=year, instructed_at__lte=until)
    if departments is not None:
        given = given.filter(task__department_id__in=departments)
    if after is not None:
        given = given.filter(instructed_at__gt=after)
    return list(given.select_related("author", "instructed_by", "task__department").order_by("instructed_at", "id"))


# --- change requests -----------------------------------------------------------------------


def _change_requests():
    return ChangeRequest.objects.select_related(
        "task__department", "task__owner", "stage__year", "requested_by", "decided_by"
    )


TASK_CHANGE_REQUESTS = CompiledQuery(
    lambda task_id: ChangeRequest.objects.filter(task_id=task_id).select_related(
        "stage__year", "requested_by", "decided_by"
    ),
    1,
)


def task_change_requests(task):
    """Every change request of the task, newest first: the approved ones keep what it was."""
    # The task is known: joined only for what the page shows of each request.
    requests = TASK_CHANGE_REQUESTS.instances(task.pk)
    for item in requests:
        item.task = task
    return requests


def pending_change_requests(user):
    """The requests of the units the user's role reaches awaiting the leadership group, oldest
    first. One query (two for a role held at a unit)."""
    pending = within_scope(_change_requests(), user, "task__department").filter(state=ChangeRequest.State.PENDING)
    return list(pending.order_by("requested_at", "id"))


def recent_change_decisions(user, limit=20):
    decided = within_scope(_change_requests(), user, "task__department").exclude(state=ChangeRequest.State.PENDING)
    return list(decided.order_by("-decided_at", "-id")[:limit])


def changes_approved(year, *, after, until, departments=None):
    """The changes to the year's tasks (of `departments`' tasks when given) approved after
    `after` (None: from the start) up to `until`, in the order decided. One query."""
    approved = _change_requests().filter(state=ChangeRequest.State.APPROVED, task__year=year, decided_at__lte=until)
    if departments is not None:
        approved = approved.filter(task__department_id__in=departments)
    if after is not None:
        approved = approved.filter(decided_at__gt=after)
    return list(approved.order_by("decided_at", "id"))


# --- a task across the years -------------------------------------------------------------


@dataclass
class YearOfTask:
    task: KeyTask
    lights: list  # the final light of each stage ("" before its meeting)


_UNREAD = object()


def task_across_years(task, carried_into_id=_UNREAD):
    """The task's line through the years when it was carried over: the tasks it was copied
    from and into, oldest first, each with its stages' final lights; [] for a task of one
    year. A query per year it spans, and the registered results' queries for the lights
    (none for a task of one year whose `carried_into_id`, None, is known: task_facts reads it)."""
    chain = [task]
    earlier = task
    while earlier.carried_from_id:
        earlier = KeyTask.objects.select_related("year").get(pk=earlier.carried_from_id)
        chain.insert(0, earlier)
    if carried_into_id is None:
        later = None
    elif carried_into_id is _UNREAD:
        later = KeyTask.objects.select_related("year").filter(carried_from=task).first()
    else:
        later = KeyTask.objects.select_related("year").get(pk=carried_into_id)
    while later is not None:
        chain.append(later)
        later = KeyTask.objects.select_related("year").filter(carried_from=later).first()
    if len(chain) == 1:
        return []
    results = stage_results(KeyTask.objects.filter(pk__in=[t.pk for t in chain]))
    return [
        YearOfTask(t, [results.get((t.pk, number), NO_RESULT).final_light for number in range(1, 7)]) for t in chain
    ]


# --- the organisation tree -------------------------------------------------------------------


@dataclass
class OrgTree:
    """Every unit with its children, read in one query (units number in the hundreds)."""

    units: dict  # id -> Department
    children: dict  # id or None (the top) -> [Department]

    def below(self, unit_id):
        """The ids of the unit and every unit under it, at any depth."""
        found, todo = [], [unit_id]
        while todo:
            current = todo.pop()
            found.append(current)
            todo.extend(child.pk for child in self.children.get(current, ()))
        return found

    def cycle_of(self, unit_id):
        """The unit whose review cycle the unit's tasks belong to: the nearest at or above it
        that runs its own (a subsidiary), or None for the group's."""
        current = self.units.get(unit_id)
        while current is not None:
            if current.runs_own_cycle:
                return current.pk
            current = self.units.get(current.parent_id)
        return None

    def in_cycle(self, cycle_unit_id):
        """The ids of the units whose tasks the cycle reviews."""
        return [pk for pk in self.units if self.cycle_of(pk) == cycle_unit_id]

    def cycles(self):
        """The units that run their own cycle, in code order."""
        return [unit for unit in self.units.values() if unit.runs_own_cycle]

    def path(self, unit_id):
        """The units from the top down to this one."""
        path, current = [], self.units.get(unit_id)
        while current is not None:
            path.insert(0, current)
            current = self.units.get(current.parent_id)
        return path


def org_tree():
    units = {unit.pk: unit for unit in Department.objects.order_by("code")}
    children = defaultdict(list)
    for unit in units.values():
        children[unit.parent_id if unit.parent_id in units else None].append(unit)
    return OrgTree(units, dict(children))
