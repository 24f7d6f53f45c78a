"""Sessions that end SESSION_IDLE_MINUTES after the user's last request.

A session's expiry is set when it is saved (now + SESSION_COOKIE_AGE). Rather than saving it on
every request (SESSION_SAVE_EVERY_REQUEST: a database write per page and per htmx fragment),
IdleSessionMiddleware notes the time of activity in the session at most once a minute, which
saves it and so moves its expiry on: a session ends between SESSION_IDLE_MINUTES - 1 and
SESSION_IDLE_MINUTES after the last request.

A page's own background requests are not activity: the inbox badge asks for its count every
minute, and an open tab would otherwise never time out.
"""

import functools
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils import timezone

ACTIVE_KEY = "lightboard_active"
REFRESH_SECONDS = 60

# Views that a page polls by itself, without the user doing anything.
BACKGROUND_VIEWS = frozenset({"inbox:count"})


def start_idle_clock(sender, request, user, **kwargs):
    """user_logged_in receiver: the sign-in is the first activity (and is saved with it)."""
    request.session[ACTIVE_KEY] = int(time.time())


def is_background(request):
    match = getattr(request, "resolver_match", None)
    return match is not None and match.view_name in BACKGROUND_VIEWS


def sent_to_login(request, response):
    """True when an htmx request was answered with the login page because the session ended."""
    if request.headers.get("HX-Request") != "true" or response.status_code != 302:
        return False
    user = getattr(request, "user", None)
    return not (user and user.is_authenticated) and response["Location"].startswith(resolve_url(settings.LOGIN_URL))


class IdleSessionMiddleware(SessionMiddleware):
    """Django's SessionMiddleware, which also moves a signed-in session's expiry on after
    activity, and makes an htmx request whose session has ended reload the page (which then
    goes to the login page and back) instead of swapping the login page into a fragment."""

    def process_response(self, request, response):
        if sent_to_login(request, response):
            response = HttpResponse(status=204, headers={"HX-Refresh": "true"})
        session = request.session
        # Only a session this request read already: asking an untouched one would load it.
        if session.accessed and not is_background(request) and SESSION_KEY in session:
            now = int(time.time())
            if now - session.get(ACTIVE_KEY, 0) >= REFRESH_SECONDS:
                session[ACTIVE_KEY] = now
        return super().process_response(request, response)


class SessionStore(db.SessionStore):
    """Django's database sessions (SESSION_ENGINE = "lightboard.sessions"), whose read on every
    request runs a statement written once per process on PostgreSQL: the ORM would compile the
    same query again each time, which costs more than running it. Elsewhere, Django's own read."""

    @staticmethod
    @functools.cache
    def _statement(model):
        quote = connection.ops.quote_name
        fields = model._meta.concrete_fields
        columns = ", ".join(quote(field.column) for field in fields)
        key = quote(model._meta.get_field("session_key").column)
        expiry = quote(model._meta.get_field("expire_date").column)
        statement = f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {key} = %s AND {expiry} > %s"
        return statement, [field.attname for field in fields]

    def _get_session_from_db(self):
        if connection.vendor != "postgresql":
            return super()._get_session_from_db()
        statement, attnames = self._statement(self.model)
        with connection.cursor() as cursor:
            cursor.execute(statement, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model.from_db(connection.alias, attnames, row)
