"""Reading the signed-in user on every request: the user, their roles and their departments in
one query on PostgreSQL, where Django's ModelBackend reads the user and lightboard.roles and
tasks.access would each ask once more (three queries on nearly every request).

The statement is written once per process from the models' tables and columns: the ORM would
compile the same query again on every request, which costs more than running it."""

import functools

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from lightboard.roles import remember_roles

from .access import remember_department_ids


@functools.cache
def _statement():
    """(SELECT of every user column, their group names and department ids by user id, field attnames)."""
    user_model = get_user_model()
    quote = connection.ops.quote_name
    fields = user_model._meta.concrete_fields
    groups = user_model._meta.get_field("groups").remote_field.through._meta
    departments = user_model._meta.get_field("departments").remote_field.through._meta
    user_of_group = quote(groups.get_field(user_model._meta.model_name).column)
    group_of_user = quote(groups.get_field("group").column)
    user_of_department = quote(departments.get_field(user_model._meta.model_name).column)
    department_of_user = quote(departments.get_field("department").column)
    columns = ", ".join(f"u.{quote(field.column)}" for field in fields)
    statement = (
        f"SELECT {columns}, "
        f"ARRAY(SELECT g.{quote('name')} FROM {quote(Group._meta.db_table)} g "
        f"JOIN {quote(groups.db_table)} ug ON ug.{group_of_user} = g.{quote('id')} "
        f"WHERE ug.{user_of_group} = u.{quote(user_model._meta.pk.column)}), "
        f"ARRAY(SELECT ud.{department_of_user} FROM {quote(departments.db_table)} ud "
        f"WHERE ud.{user_of_department} = u.{quote(user_model._meta.pk.column)}) "
        f"FROM {quote(user_model._meta.db_table)} u WHERE u.{quote(user_model._meta.pk.column)} = %s"
    )
    return statement, [field.attname for field in fields]


def user_with_roles_and_departments(user_id):
    """The user with that id, their roles and department ids already cached on it (see
    lightboard.roles.roles_of, tasks.access.department_ids_of); None if there is none."""
    user_model = get_user_model()
    if connection.vendor != "postgresql":
        return user_model._default_manager.filter(pk=user_id).first()
    statement, attnames = _statement()
    with connection.cursor() as cursor:
        cursor.execute(statement, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    *values, group_names, department_ids = row
    user = user_model.from_db(connection.alias, attnames, values)
    remember_roles(user, group_names)
    remember_department_ids(user, department_ids)
    return user


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend (sign-in with a lightboard password), reading the user back on each
    request with their roles and departments (user_with_roles_and_departments)."""

    def get_user(self, user_id):
        user = user_with_roles_and_departments(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
