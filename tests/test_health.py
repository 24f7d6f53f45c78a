"""/healthz and /readyz, for load balancers: public, cheap, no session, no redirect; /readyz
answers 503 naming what does not answer (PostgreSQL, Redis) and nothing more."""

import json
import socket
import threading
import time

import pytest
from django.db import connections

from lightboard import views as health


def closed_port():
    """A local port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_the_database(client):
    # No django_db mark: any query here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert len(response.content) < 100
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies, "no session or CSRF cookie for a probe"


@pytest.mark.django_db
def test_readyz_answers_when_the_database_and_redis_do(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["status"] == "ready" and body["database"] == "ok"
    # On the embedded default (no REDIS_URL) Redis is not used, and the node is ready without it.
    assert body["redis"] == ("ok" if settings.REDIS_URL else "not used")
    assert not response.cookies


@pytest.mark.django_db
def test_readyz_names_redis_when_it_is_down_and_leaks_nothing(client, settings):
    port = closed_port()
    settings.REDIS_URL = f"redis://:s3cret-pass@127.0.0.1:{port}/14"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "not ready", "database": "ok", "redis": "unavailable"}
    text = response.content.decode()
    for leak in ("127.0.0.1", str(port), "s3cret", "redis://", "Error", "refused"):
        assert leak not in text


@pytest.mark.django_db
def test_readyz_without_redis_is_ready_on_the_database_alone(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content)["redis"] == "not used"


@pytest.mark.django_db
def test_probes_are_not_redirected_to_https_and_take_no_login(client, settings):
    """A load balancer probes each node over plain HTTP; the rest of the site still redirects."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


@pytest.mark.django_db
def test_a_signed_in_probe_leaves_the_session_alone(client, staff_a):
    client.force_login(staff_a)
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        assert not response.cookies, f"{path} wrote the session"


@pytest.mark.django_db
def test_probes_are_not_throttled_and_answer_only_reads(client):
    assert {client.get("/readyz").status_code for _ in range(60)} == {200}
    assert client.head("/healthz").status_code == 200
    # A write is refused as a method, not with a CSRF failure or a login page.
    assert client.post("/healthz").status_code == 405


class BlackHole:
    """A TCP server that takes connections and never answers: a database that hangs."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.accepted = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _address = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.server.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def hanging_database(monkeypatch):
    """The default database, as seen by connections opened from now on, is one that hangs."""
    hole = BlackHole()
    hung = {
        **connections.settings["default"],
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": hole.port,
        "NAME": "lightboard",
        "USER": "lightboard",
        "PASSWORD": "",
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"connect_timeout": 30},
    }
    monkeypatch.setitem(connections.settings, "default", hung)
    yield hole
    hole.close()  # the waiting query fails at once, and later probes start afresh
    running = health._database_probe["running"]
    if running is not None:
        running.join(10)
        assert not running.is_alive()


@pytest.mark.django_db
def test_readyz_answers_in_time_when_the_database_hangs_and_probes_do_not_pile_up(client, settings, hanging_database):
    settings.REDIS_URL = ""
    began = time.monotonic()
    response = client.get("/readyz")
    first = time.monotonic() - began
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "not ready", "database": "unavailable", "redis": "not used"}
    # Within the probe's limit, not libpq's 30 s: a balancer takes the node out instead of waiting.
    assert first < health.DATABASE_PROBE_SECONDS + 1.5
    began = time.monotonic()
    assert client.get("/readyz").status_code == 503
    assert time.monotonic() - began < 1, "a second probe does not wait behind the hanging one"
    assert len(hanging_database.accepted) == 1, "only one query waits on the hanging database"
