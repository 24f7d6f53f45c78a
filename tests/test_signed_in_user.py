"""The signed-in user is read on every request with their roles and departments: one query on
PostgreSQL (tasks.backends), and always what the database says now — a role taken away or a
department given counts from the next request, and a deactivated user is signed out."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lightboard.roles import Role
from tests.factories import KeyTaskFactory

pytestmark = pytest.mark.django_db


def sign_in(client, username):
    response = client.post("/accounts/login/", {"username": username, "password": "pw"})
    assert response.status_code == 302, "signed in with the password form"


def test_a_role_taken_away_counts_from_the_next_request(client, staff_a):
    sign_in(client, "staff_a")
    assert client.get("/tasks/mine/").status_code == 200
    staff_a.groups.remove(Group.objects.get(name=Role.STAFF.value))
    assert client.get("/tasks/mine/").status_code == 403


def test_a_department_given_counts_from_the_next_request(client, year, staff_a, department_b):
    task = KeyTaskFactory(year=year, department=department_b, owner=staff_a)
    sign_in(client, "staff_a")
    assert client.get(f"/tasks/{task.pk}/").status_code == 404
    staff_a.departments.add(department_b)
    assert client.get(f"/tasks/{task.pk}/").status_code == 200


def test_a_deactivated_user_is_signed_out(client, staff_a):
    sign_in(client, "staff_a")
    staff_a.is_active = False
    staff_a.save(update_fields=["is_active"])
    response = client.get("/tasks/mine/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_roles_and_departments_are_read_with_the_user_on_postgresql(client, year, staff_a):
    task = KeyTaskFactory(year=year, department=staff_a.departments.get(), owner=staff_a)
    sign_in(client, "staff_a")
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/tasks/{task.pk}/light/", {"completion": "72.5"}).status_code == 200
    separate = [
        q["sql"]
        for q in captured
        if 'FROM "tasks_user" ' not in q["sql"]
        and ('"auth_group"' in q["sql"] or '"tasks_user_departments"' in q["sql"])
    ]
    if connection.vendor == "postgresql":
        assert separate == [], "roles and departments come with the user"
        assert len(captured) == 3, "the session, the user, the task"
    else:
        assert len(separate) == 2, "SQLite: one query each for the roles and the departments"
