"""/healthz and /readyz, for load balancers: public, cheap, no session, no redirect; /readyz
answers 503 naming what does not answer (PostgreSQL, Redis) and nothing more."""

import json
import socket

import pytest


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
