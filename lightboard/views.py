import threading

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from .navigation import main_screen_for


@login_required
def home(request):
    """Send each signed-in user to the main screen of their role."""
    url_name = main_screen_for(request.user)
    if url_name is None:
        return render(request, "no_role.html", status=403)
    return redirect(url_name)


# --- for load balancers: /healthz and /readyz ---------------------------------------------------
# Public, cheap, and quiet: no session, no login, no template, no database for /healthz. /readyz
# names what does not answer ("unavailable") and never why: no addresses, versions or errors.

_redis_clients = {}


def _redis_answers(url):
    """PING Redis with short timeouts (a black-holed address must not hang the probe). The client
    and its connection pool are kept per URL, so a probe does not reconnect each time."""
    import redis

    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1, health_check_interval=30
        )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


DATABASE_PROBE_SECONDS = 2
_database_probe = {"running": None}
_database_probe_lock = threading.Lock()


def _select_one(outcome):
    """In a thread of its own, on that thread's own connection, closed afterwards."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            outcome["answered"] = cursor.fetchone() == (1,)
    except DatabaseError:
        outcome["answered"] = False
    finally:
        connection.close()


def _database_answers():
    """SELECT 1, waited for at most DATABASE_PROBE_SECONDS. A database that took the connection
    and stopped answering would hold the query (and the balancer's probe) for as long as it
    hangs: libpq has no time limit for an answer. So the query runs in a thread, and a probe
    that does not hear back in time says "unavailable". While such a query still waits, later
    probes say so at once instead of starting more of them."""
    with _database_probe_lock:
        running = _database_probe["running"]
        if running is not None and running.is_alive():
            return False
        outcome = {"answered": False}
        thread = threading.Thread(target=_select_one, args=(outcome,), name="readyz-database", daemon=True)
        _database_probe["running"] = thread
        thread.start()
    thread.join(DATABASE_PROBE_SECONDS)
    return not thread.is_alive() and outcome["answered"]


def _probe_response(http_status, body):
    response = JsonResponse(body, status=http_status)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def healthz(request):
    """The process is up and serving requests (nothing else is asked)."""
    return _probe_response(200, {"status": "ok"})


@require_safe
def readyz(request):
    """PostgreSQL (or the embedded SQLite) and Redis answer: 200, else 503 naming which did not.
    Without REDIS_URL (the embedded default) Redis is not used and does not count."""
    checks = {"database": "ok" if _database_answers() else "unavailable"}
    if settings.REDIS_URL:
        checks["redis"] = "ok" if _redis_answers(settings.REDIS_URL) else "unavailable"
    else:
        checks["redis"] = "not used"
    ready = "unavailable" not in checks.values()
    return _probe_response(200 if ready else 503, {"status": "ready" if ready else "not ready", **checks})
