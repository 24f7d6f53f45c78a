"""A session ends SESSION_IDLE_MINUTES after the last request and when the browser closes;
activity starts the idle time again (at most once a minute), the inbox badge's polling does not."""

import datetime
import time

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lightboard import settings as project_settings
from lightboard.sessions import ACTIVE_KEY
from tests.test_settings import run_manage

pytestmark = pytest.mark.django_db

IDLE = datetime.timedelta(minutes=30)


def last_active(client, ago):
    """Make the session look as if its last activity was `ago` before now."""
    session = client.session
    session[ACTIVE_KEY] = int(time.time() - ago.total_seconds())
    session.save()
    Session.objects.filter(session_key=session.session_key).update(expire_date=timezone.now() - ago + IDLE)


def expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_sessions_are_idle_timed_and_end_with_the_browser():
    assert project_settings.SESSION_IDLE_MINUTES == 30
    assert project_settings.SESSION_COOKIE_AGE == 30 * 60
    assert project_settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_the_session_cookie_is_a_browser_session_cookie(client, staff_a):
    response = client.post("/accounts/login/", {"username": "staff_a", "password": "pw"})
    cookie = response.cookies["sessionid"]
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert expiry(client) - timezone.now() <= IDLE


def test_a_session_idle_past_the_limit_is_sent_to_the_login_page(client, staff_a):
    client.force_login(staff_a)
    assert client.get("/tasks/mine/").status_code == 200
    last_active(client, IDLE + datetime.timedelta(minutes=1))
    response = client.get("/tasks/mine/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/tasks/mine/"


def test_an_active_session_goes_on_and_each_request_starts_the_idle_time_again(client, staff_a):
    client.force_login(staff_a)
    last_active(client, IDLE - datetime.timedelta(minutes=1))
    assert client.get("/tasks/mine/").status_code == 200
    assert expiry(client) > timezone.now() + IDLE - datetime.timedelta(minutes=1)
    # The next request within the minute does not write the session again.
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/tasks/mine/").status_code == 200
    assert not [query for query in queries if "django_session" in query["sql"] and "UPDATE" in query["sql"]]


def test_the_inbox_badge_polling_does_not_keep_a_session_alive(client, staff_a):
    client.force_login(staff_a)
    last_active(client, datetime.timedelta(minutes=20))
    before = expiry(client)
    assert client.get("/inbox/count/", HTTP_HX_REQUEST="true").status_code == 200
    assert expiry(client) == before
    client.get("/tasks/mine/")
    assert expiry(client) > before


def test_an_htmx_request_after_the_session_ended_reloads_the_page(client, staff_a):
    client.force_login(staff_a)
    last_active(client, IDLE + datetime.timedelta(minutes=1))
    response = client.get("/inbox/count/", HTTP_HX_REQUEST="true")
    # Not the login page swapped into the badge: htmx reloads the page, which goes to the login.
    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"


def test_the_idle_time_comes_from_the_environment():
    result = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.SESSION_COOKIE_AGE)", SESSION_IDLE_MINUTES="45"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(45 * 60)


@pytest.mark.parametrize("value", ["half an hour", "1"])
def test_a_bad_idle_time_is_refused(value):
    result = run_manage("check", SESSION_IDLE_MINUTES=value)
    assert result.returncode != 0
    assert "SESSION_IDLE_MINUTES must be" in result.stderr
