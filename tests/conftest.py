"""The shared cast: every test reads as "staff of A can, staff of B gets 404"."""

import pytest
from django.contrib.auth.models import Group

from tasks import services
from tasks.models import Department, User
from tasks.roles import Role


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username, *roles, departments=(), **fields):
    user = User.objects.create_user(
        username=username, password="pw", name=fields.pop("name", username), **fields
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role.value))
    user.departments.add(*departments)
    return user


@pytest.fixture
def year(db):
    return services.create_assessment_year(year=2026)


@pytest.fixture
def leader_a(db):
    return make_user("leader_a", Role.DIVISION_LEADER)


@pytest.fixture
def leader_b(db):
    return make_user("leader_b", Role.DIVISION_LEADER)


@pytest.fixture
def department_a(leader_a):
    return Department.objects.create(code="A", name="生产运营部", division_leader=leader_a)


@pytest.fixture
def department_b(leader_b):
    return Department.objects.create(code="B", name="财务部", division_leader=leader_b)


@pytest.fixture
def staff_a(department_a):
    return make_user("staff_a", Role.STAFF, departments=[department_a])


@pytest.fixture
def staff_b(department_b):
    return make_user("staff_b", Role.STAFF, departments=[department_b])


@pytest.fixture
def leadership(db):
    return make_user("leadership", Role.LEADERSHIP)


@pytest.fixture
def inspector(db):
    return make_user("inspector", Role.INSPECTOR)


@pytest.fixture
def administrator(db):
    return make_user("administrator", Role.ADMINISTRATOR, is_staff=True, is_superuser=True)


@pytest.fixture
def no_role(db):
    return make_user("nobody")
