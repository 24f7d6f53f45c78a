"""Object-level access to departments, lists and tasks: the one place that decides who may see
or change them. Other apps build their rules on these (a division leader's confirmations, who
answers a follow-up case)."""

from collections import defaultdict

from django.http import Http404
from django.urls import reverse

from lightboard import clock
from lightboard.roles import Role, can_read_all, has_role
from lightboard.statements import CompiledQuery

from .models import Department, Deputy, KeyTask


def department_ids_of(user):
    """IDs of the departments the user works in, read once per request."""
    cached = getattr(user, "_lightboard_department_ids", None)
    if cached is None:
        cached = remember_department_ids(user, user.departments.order_by().values_list("id", flat=True))
    return cached


def remember_department_ids(user, ids):
    """Cache on the user the ids of their departments, for department_ids_of."""
    user._lightboard_department_ids = frozenset(ids)
    return user._lightboard_department_ids


# --- the reach of a role in the organisation tree --------------------------------------------


def units_below(unit_id):
    """The ids of the unit and of every unit under it, at any depth (one query)."""
    children = defaultdict(list)
    for pk, parent_id in Department.objects.values_list("pk", "parent_id"):
        children[parent_id].append(pk)
    found, todo = set(), [unit_id]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, ()))
    return found


def scope_of(user):
    """The ids of the units the user's roles reach: None for the whole group (a user without a
    unit), else their unit and everything below it; read once per request."""
    unit_id = getattr(user, "unit_id", None)
    if unit_id is None:
        return None
    cached = getattr(user, "_lightboard_scope", None)
    if cached is None:
        cached = user._lightboard_scope = frozenset(units_below(unit_id))
    return cached


def in_scope(user, department_id):
    """The user's roles reach the department."""
    scope = scope_of(user)
    return scope is None or department_id in scope


def covers_cycle(user, unit_id):
    """The user's roles reach a review cycle: the group's (unit None) only for group-wide
    roles, a subsidiary's for roles held at it or above it."""
    scope = scope_of(user)
    return scope is None or (unit_id is not None and unit_id in scope)


def reaches(user, other):
    """`user`'s roles reach everything `other`'s do: held for the whole group, or at `other`'s
    unit or above it (a deputy must reach the cases and departments of whom they stand in for)."""
    if user.unit_id is None:
        return True
    return other.unit_id is not None and other.unit_id in scope_of(user)


def within_scope(queryset, user, field="department"):
    """`queryset` cut to the units the user's roles reach (`field` names the department)."""
    scope = scope_of(user)
    return queryset if scope is None else queryset.filter(**{f"{field}__in": scope})


def visible_tasks(user):
    """The key tasks the user may read: for leaders, the group and inspectors all those of the
    units their roles reach; their own departments' (as lead or cooperating department) for
    staff; none otherwise."""
    tasks = KeyTask.objects.all()
    scope = scope_of(user) if can_read_all(user) else frozenset()
    if scope is None:
        return tasks
    if has_role(user, Role.STAFF):
        ids = department_ids_of(user)
        return (tasks.filter(department_id__in=scope | ids) | tasks.filter(cooperating_departments__in=ids)).distinct()
    return tasks.filter(department_id__in=scope) if scope else tasks.none()


# Read behind every task page, self-assessment and light preview: compiled once per process.
TASK_BY_ID = CompiledQuery(
    lambda pk: KeyTask.objects.select_related("year", "department", "owner").filter(pk=pk).order_by(), 1
)


def get_task_for_user(user, task_id):
    """The task, or 404 when it does not exist or the user may not see it."""
    found = TASK_BY_ID.instances(int(task_id))
    if not found:
        raise Http404
    task = found[0]
    # visible_tasks decides; the common cases it surely includes are told without its query.
    if not _plainly_visible(user, task) and not visible_tasks(user).filter(pk=task.pk).exists():
        raise Http404
    return task


def _plainly_visible(user, task):
    """The task is among visible_tasks(user) by its lead department alone (a cooperating
    department's staff are left to visible_tasks)."""
    scope = scope_of(user) if can_read_all(user) else frozenset()
    if scope is None:
        return True
    if has_role(user, Role.STAFF):
        return task.department_id in scope or task.department_id in department_ids_of(user)
    return task.department_id in scope


def can_work_on(user, department):
    """Staff of the department fill in its lists and self-assessments."""
    return has_role(user, Role.STAFF) and department.pk in department_ids_of(user)


def may_self_assess(user, task, stage, assessment, today):
    """Staff of the task's department fill in a stage's self-assessment once the stage has
    begun, while it is new, a draft or returned (tasks.services.save_self_assessment enforces it)."""
    return (
        can_work_on(user, task.department) and stage.start <= today and (assessment is None or assessment.is_editable)
    )


def leads(user, department):
    """The user is the division leader in charge of the department (分管领导), or stands in
    for them today (代理)."""
    if not has_role(user, Role.DIVISION_LEADER):
        return False
    leader_id = department.division_leader_id
    return leader_id == user.pk or leader_id in acting_for(user, Role.DIVISION_LEADER)


def leader_of(department):
    """The division leader in charge of the department, if there is an active one: whom its
    lists and assessments wait for."""
    leader = department.division_leader
    return leader if leader is not None and leader.is_active else None


def acting_for(user, role):
    """The people `user` stands in for today in `role` (代理), read once per request."""
    cache = user.__dict__.setdefault("_lightboard_acting_for", {})
    if role not in cache:
        today = clock.today()
        cache[role] = frozenset(
            Deputy.objects.filter(deputy_id=user.pk, role=role, starts__lte=today, ends__gte=today).values_list(
                "principal_id", flat=True
            )
        )
    return cache[role]


def on_behalf_of(user, principal, role):
    """The person an action of `user` is taken for: `principal` when the user stands in for
    them today, else None (the user's own action)."""
    if principal is None or principal.pk == user.pk or principal.pk not in acting_for(user, role):
        return None
    return principal


def may_name_deputies(user):
    return has_role(user, *Deputy.ROLES)


def leading_as(user):
    """The division leaders whose departments the user leads: the user, and those they stand in
    for today; none for a user who is not a division leader. Departments are filtered by their
    division_leader_id in these (a list: PostgreSQL plans a subquery's extra table for every join
    of the queries that filter by it, which cost the confirmation queue several milliseconds)."""
    if not has_role(user, Role.DIVISION_LEADER):
        return []
    return [user.pk, *sorted(acting_for(user, Role.DIVISION_LEADER))]


def get_department_for_user(user, code):
    """A department whose list the user may read, or 404."""
    try:
        department = Department.objects.select_related("division_leader").get(code=code)
    except Department.DoesNotExist:
        raise Http404 from None
    if (can_read_all(user) and in_scope(user, department.pk)) or can_work_on(user, department):
        return department
    raise Http404


# --- discussions ----------------------------------------------------------------------------

_THREAD_KINDS = {}


def register_thread_kind(kind, *, may_see, url):
    """An app built on tasks names a kind of discussion of a task ("case" for "case:12"):
    `may_see(user, ident)` says who may read it (besides seeing the task), `url(ident)` is the page
    it is shown on. Called from the app's AppConfig.ready()."""
    _THREAD_KINDS[kind] = (may_see, url)


def _thread_parts(thread):
    kind, _sep, ident = thread.partition(":")
    if kind not in _THREAD_KINDS or not ident.isdigit():
        raise Http404
    return _THREAD_KINDS[kind], int(ident)


def may_see_thread(user, task, thread):
    """A task's own discussion is read by whoever sees the task; another (a case's) also asks
    the app that registered it."""
    if not visible_tasks(user).filter(pk=task.pk).exists():
        return False
    if not thread:
        return True
    (may_see, _url), ident = _thread_parts(thread)
    return may_see(user, ident)


def thread_url(task, thread):
    """The page a discussion is shown on."""
    if not thread:
        return reverse("tasks:detail", kwargs={"task_id": task.pk})
    (_may_see, url), ident = _thread_parts(thread)
    return url(ident)


def may_instruct(user):
    """Members of the leadership group mark a comment as an instruction (领导批示)."""
    return has_role(user, Role.LEADERSHIP)


def may_edit_comment(user, comment):
    """The author edits a comment; once it is an instruction (批示), only if they gave it."""
    if comment.author_id != user.pk:
        return False
    return not comment.is_instruction or comment.instructed_by_id == user.pk


def may_decide_changes(user):
    """The leadership group approves or rejects change requests (deadline, targets, standard)."""
    return has_role(user, Role.LEADERSHIP)


def deputies_of(user, role):
    """The people standing in for `user` today in `role`."""
    today = clock.today()
    return [
        named.deputy
        for named in Deputy.objects.filter(
            principal_id=user.pk, role=role, starts__lte=today, ends__gte=today
        ).select_related("deputy")
    ]


def may_request_change(user, task):
    return task.owner_id == user.pk or can_work_on(user, task.department)
