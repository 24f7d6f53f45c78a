"""Roles are Django groups; the group name is the role's stable key. Each role set is defined
once here, and every layer (views, services, navigation, the admin) asks these helpers."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    STAFF = "department_staff", _("Department staff")
    DIVISION_LEADER = "division_leader", _("Division leader")
    LEADERSHIP = "leadership_group", _("Leadership group")
    INSPECTOR = "discipline_inspector", _("Discipline inspector")
    ADMINISTRATOR = "administrator", _("Administrator")


# Roles that read every department's task lists, tasks, minutes and reports (DESIGN.md
# section 5); administrators set lightboard up in the admin instead.
READ_ALL_ROLES = frozenset({Role.LEADERSHIP, Role.DIVISION_LEADER, Role.INSPECTOR})
EVERYONE = frozenset(Role)


def roles_of(user):
    """The user's roles as a frozenset of Role, read once per request and cached on the user."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_lightboard_roles", None)
    if cached is None:
        cached = remember_roles(user, user.groups.values_list("name", flat=True))
    return cached


def remember_roles(user, group_names):
    """Cache on the user the roles their groups (by name) give, for roles_of: for code that read
    the group names already, with the user."""
    known = set(Role.values)
    roles = frozenset(Role(name) for name in group_names if name in known)
    if user.is_superuser:
        roles |= {Role.ADMINISTRATOR}
    user._lightboard_roles = roles
    return roles


def has_role(user, *roles):
    """True when the user holds at least one of the given roles."""
    return not roles_of(user).isdisjoint(roles)


def can_read_all(user):
    return has_role(user, *READ_ALL_ROLES)


def role_required(*roles):
    """View decorator: anonymous users go to the login page; users without one of the
    roles get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
