"""The shared cast: every test reads as "staff of A can, staff of B gets 404"."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection

from lightboard.celery import app as celery_app
from lightboard.roles import Role
from tasks import services
from tasks.models import Department, User
from tests.smtp_fixtures import clock, mail_server  # noqa: F401 - fixtures for every test module


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username, *roles, departments=(), **fields):
    user = User.objects.create_user(username=username, password="pw", name=fields.pop("name", username), **fields)
    for role in roles:
        # get_or_create: transactional (browser) tests empty the tables the migrations filled.
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
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
def colleague_a(department_a):
    """A second member of staff of department A (the owner's colleague)."""
    return make_user("colleague_a", Role.STAFF, departments=[department_a])


@pytest.fixture
def leadership(db):
    return make_user("leadership", Role.LEADERSHIP)


@pytest.fixture
def inspector(db):
    return make_user("inspector", Role.INSPECTOR)


@pytest.fixture
def second_inspector(db):
    return make_user("inspector2", Role.INSPECTOR, name="李纪检")


@pytest.fixture
def administrator(db):
    return make_user("administrator", Role.ADMINISTRATOR, is_staff=True, is_superuser=True)


@pytest.fixture
def no_role(db):
    return make_user("nobody")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real Celery worker in its own process, consuming a queue of this test run only,
    on the test database. Without REDIS_URL, Celery runs tasks eagerly in-process and
    there is no worker to start."""
    if not settings.REDIS_URL:
        yield None
        return
    queue = f"lightboard-test-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = queue
    with django_db_blocker.unblock():
        database = connection.settings_dict
    env = dict(os.environ)
    if settings.DATABASE_URL:
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
            f"{database['PORT']}/{database['NAME']}"
        )
    log = open(Path(tempfile.gettempdir()) / f"{queue}.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "lightboard", "worker",
            "--pool=solo", "--queues", queue, "--hostname", f"{queue}@%h",
            "--without-gossip", "--without-mingle", "--loglevel=INFO",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(destination=[f"{queue}@{socket.gethostname()}"], timeout=1):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise RuntimeError(f"the Celery worker did not start; see {log.name}")
    yield worker
    worker.terminate()
    worker.wait(timeout=30)
    log.close()


def pytest_sessionstart(session):
    """Tests read the interface in Chinese: compile the catalogues so they match the .po files."""
    from django.core.management import call_command

    call_command("compile_catalogues", verbosity=0)
