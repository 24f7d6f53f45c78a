"""Reading the signed-in user on every request: the user, their roles and their departments in
one query on PostgreSQL, where Django's ModelBackend reads the user and lightboard.roles and
tasks.access would each ask once more (three queries on nearly every request)."""

from django.contrib.auth import backends, get_user_model
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection

from lightboard.roles import remember_roles

from .access import remember_department_ids


def user_with_roles_and_departments(user_id):
    """The user with that id, their roles and department ids already cached on it (see
    lightboard.roles.roles_of, tasks.access.department_ids_of); None if there is none."""
    users = get_user_model()._default_manager
    if connection.vendor != "postgresql":
        return users.filter(pk=user_id).first()
    user = (
        users.annotate(
            group_names=ArrayAgg("groups__name", distinct=True, default=[]),
            department_ids=ArrayAgg("departments__id", distinct=True, default=[]),
        )
        .filter(pk=user_id)
        .first()
    )
    if user is not None:
        remember_roles(user, [name for name in user.group_names if name is not None])
        remember_department_ids(user, [pk for pk in user.department_ids if pk is not None])
    return user


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend (sign-in with a lightboard password), reading the user back on each
    request with their roles and departments (user_with_roles_and_departments)."""

    def get_user(self, user_id):
        user = user_with_roles_and_departments(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
