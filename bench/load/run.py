"""Bounded load test of lightboard (`make load`): gunicorn on PostgreSQL and Redis, loopback only.

1. Creates a throwaway PostgreSQL database (lightboard_load) on DATABASE_URL's server
   (default postgres://postgres@127.0.0.1:5432/), migrates it, loads the demo data
   (seed_demo --force) and collects the static files into a temporary STATIC_ROOT.
2. Starts gunicorn on 127.0.0.1 and a free port (DEBUG=0, a generated SECRET_KEY, plain HTTP)
   and a Celery worker on REDIS_URL (default redis://127.0.0.1:6379/6), so notifications flow.
3. Runs locust headless (bench/load/locustfile.py): 50 signed-in users of every role for
   60 seconds by default, at most 120.
4. Prints requests per second and p50/p95/p99 per page and overall, writes the JSON file,
   stops gunicorn and the worker and drops the database, also on failure or Ctrl-C.

Capacity mode (--capacity): after a sign-in burst (--burst-users, 50 by default, post the login
form at the same moment; their p50/p95 and settings.PASSWORD_HASHERS[0] are reported), locust
adds --step-users users (10, the usual mix: a step of 25 users, about 33 requests/s, put the knee
up to that much below the real one) every --step-seconds (15) and measures each step from
--settle seconds after its users have all signed in, leaving the sign-in pages out. It stops after
the first step whose p95 passes 250 ms or that has any error (or at --max-users, or after
--max-seconds, 300), prints users, requests/s, p50/p95 and the slowest page per step, and reports the
knee (the last step within budget: its requests/s) and the limiting page (the first whose p95
passed 250 ms). Exits 1 when the knee is below 150 requests/s. --signin-burst runs the burst only.

Exits 1 on any error response (status >= 400, an unexpected redirect, a connection error or a
user that could not start), 2 when the stack could not be set up.

    .venv/bin/python bench/load/run.py [--users 50] [--duration 60] [--json bench/load-results.json]
    .venv/bin/python bench/load/run.py --capacity [--step-users 10] [--step-seconds 15] [--max-seconds 300]
"""

import argparse
import json
import os
import re
import runpy
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
DATABASE = "lightboard_load"
# The share of each demo login among the virtual users (several users share a login).
MIX = {"staff": 40, "leader": 16, "leadership": 24, "inspector": 12, "admin": 8}
# The order of the table: each role's pages, then the shared ones.
ORDER = [
    "login form",
    "login",
    "home (role redirect)",
    "static css",
    "tasks:mine",
    "tasks:detail",
    "tasks:assess",
    "tasks:light_preview (htmx)",
    "tasks:assess POST draft",
    "reviews:confirmations",
    "reviews:confirmation",
    "tasks:lists",
    "tasks:list",
    "reviews:meetings",
    "reviews:board",
    "reviews:board (htmx filter)",
    "reviews:minutes",
    "reviews:followups",
    "reviews:followups (htmx filter)",
    "reviews:case",
    "admin:index",
    "admin:keytask changelist",
    "inbox:count (htmx)",
]


class SetupError(Exception):
    pass


def log(message):
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", flush=True)


def mix_of(users):
    """Split `users` among the logins by MIX (largest remainder), at least one each when possible."""
    total = sum(MIX.values())
    counts = {name: users * share // total for name, share in MIX.items()}
    by_remainder = sorted(MIX, key=lambda name: -(users * MIX[name] % total))
    for name in by_remainder[: users - sum(counts.values())]:
        counts[name] += 1
    for name in MIX:
        while counts[name] == 0 and max(counts.values()) > 1:
            counts[max(counts, key=counts.get)] -= 1
            counts[name] += 1
    return counts


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil
    return sorted_values[int(rank) - 1]


MS = ("p50_ms", "p95_ms", "p99_ms", "max_ms")
SIGN_IN = ("login form", "login", "home (role redirect)", "static css")


def _order(name):
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def _row(name, rows, seconds):
    times = sorted(r[2] for r in rows)
    return {
        "name": name,
        "requests": len(rows),
        "errors": sum(1 for r in rows if r[4]),
        "rps": round(len(rows) / max(seconds, 1e-9), 2),
        "p50_ms": round(percentile(times, 0.50), 1) if times else None,
        "p95_ms": round(percentile(times, 0.95), 1) if times else None,
        "p99_ms": round(percentile(times, 0.99), 1) if times else None,
        "max_ms": round(times[-1], 1) if times else None,
    }


def _table(rows, seconds):
    names = sorted({r[0] for r in rows}, key=_order)
    return [_row(name, [r for r in rows if r[0] == name], seconds) for name in names], _row("overall", rows, seconds)


def summarise(record, users):
    """Per-page and overall figures from the locustfile's record of every request.

    The steady state starts when the last virtual user has signed in (each sign-in hashes the
    password, a deliberate CPU cost that crowds the first seconds) and ends with the run."""
    requests = record["requests"]
    started = record["started"] or min((r[1] for r in requests), default=0)
    stopped = record["stopped"] or max((r[1] + r[2] / 1000 for r in requests), default=started)
    ready = record["ready"]
    steady_from = max(ready) if len(ready) >= users else (record["spawned"] or started)
    steady = [r for r in requests if r[1] >= steady_from]
    steady_pages, steady_overall = _table(steady, stopped - steady_from)
    whole_pages, whole_overall = _table(requests, stopped - started)
    errors = {}
    for r in requests:
        if r[4]:
            key = f"{r[0]}: {r[4]}"
            errors[key] = errors.get(key, 0) + 1
    return {
        "duration_s": round(stopped - started, 1),
        "users": users,
        "users_signed_in": len(ready),
        "steady": {
            "from_s": round(steady_from - started, 1),
            "window_s": round(stopped - steady_from, 1),
            "pages": steady_pages,
            "overall": steady_overall,
        },
        "sign_in": [row for row in whole_pages if row["name"] in SIGN_IN],
        "whole_run": {"pages": whole_pages, "overall": whole_overall},
        "errors": errors,
        "user_errors": record["user_errors"],
    }


def print_table(summary):
    header = (
        f"{'page':<34} {'requests':>8} {'errors':>6} {'rps':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    rule = "-" * len(header)

    def line(r):
        ms = "".join(f" {r[key]:>8.1f}" if r[key] is not None else f" {'-':>8}" for key in MS)
        print(f"{r['name']:<34} {r['requests']:>8} {r['errors']:>6} {r['rps']:>7.2f}{ms}")

    steady = summary["steady"]
    if summary["users_signed_in"] < summary["users"]:
        print(f"NOT every user signed in ({summary['users_signed_in']} of {summary['users']}): after the ramp-up")
    else:
        print(f"Steady state: all users signed in, {steady['window_s']}s from {steady['from_s']}s into the run")
    print(header)
    print(rule)
    for r in steady["pages"]:
        line(r)
    print(rule)
    line(steady["overall"])
    print()
    print(f"Sign-in and the whole run ({summary['duration_s']}s, every request)")
    print(header)
    print(rule)
    for r in summary["sign_in"]:
        line(r)
    print(rule)
    line({**summary["whole_run"]["overall"], "name": "overall, whole run"})


# --- the stack -----------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_settings():
    import dj_database_url

    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    if not url.startswith(("postgres://", "postgresql://")):
        raise SetupError("DATABASE_URL must be a postgres:// address: the load test runs on PostgreSQL.")
    server = dj_database_url.parse(url)
    load_url = url.split("?", 1)[0].rsplit("/", 1)[0] + "/" + DATABASE
    return server, load_url


def maintenance(server, *statements):
    import psycopg

    try:
        with psycopg.connect(
            host=server["HOST"] or "127.0.0.1",
            port=server["PORT"] or 5432,
            user=server["USER"] or None,
            password=server["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            for statement in statements:
                conn.execute(statement)
    except psycopg.Error as error:
        raise SetupError(f"PostgreSQL at {server['HOST']}:{server['PORT']}: {error}".strip()) from error


def check_redis(url):
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        raise SetupError(f"Redis at {url} does not answer: {error}") from error


def manage(env, logs, *args):
    with open(logs / "setup.log", "a", encoding="utf-8") as out:
        result = subprocess.run(
            [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if result.returncode:
        raise SetupError(f"manage.py {' '.join(args)} failed:\n{tail(logs / 'setup.log')}")


def start(command, env, logfile):
    """A child in its own process group, so it and its children are stopped together."""
    out = open(logfile, "w", encoding="utf-8")  # noqa: SIM115 (closed by stop_all())
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = out
    return process


def _signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)
        return True
    except ProcessLookupError:
        return False


def stop_all(processes, grace=20):
    """Stop each (process, name) and everything in its process group: SIGTERM to all at once
    (gunicorn and Celery shut down gracefully), then SIGKILL whatever is left after `grace`."""
    processes = [(process, name) for process, name in processes if process is not None]
    for process, _name in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process, name in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop within {grace}s: killing it")
        if _signal_group(process, 0):  # the leader or a child is still there
            _signal_group(process, signal.SIGKILL)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"{name} (pid {process.pid}) could not be stopped")
        process.log.close()


def tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_for_http(url, process, timeout=30):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"gunicorn exited with {process.returncode}:\n{tail(process.log.name)}")
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SetupError(f"gunicorn did not answer {url} within {timeout}s:\n{tail(process.log.name)}")


def wait_for_worker(redis_url, name, process, timeout=30):
    from celery import Celery

    app = Celery(broker=redis_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SetupError(f"the Celery worker exited with {process.returncode}:\n{tail(process.log.name)}")
            if app.control.ping(destination=[name], timeout=1):
                return
        raise SetupError(f"the Celery worker did not answer within {timeout}s:\n{tail(process.log.name)}")
    finally:
        app.close()


def outbox(load_url, wait=15):
    """The notifications by state, after giving the worker up to `wait` seconds to drain what is due."""
    import psycopg

    query = "SELECT state, count(*) FROM reviews_notification GROUP BY state ORDER BY state"
    due = "SELECT count(*) FROM reviews_notification WHERE state = 'pending' AND next_attempt_at <= now()"
    with psycopg.connect(load_url, autocommit=True, connect_timeout=5) as conn:
        deadline = time.monotonic() + wait
        while conn.execute(due).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.5)
        return dict(conn.execute(query).fetchall())


# --- the run -------------------------------------------------------------------------


def run(args, work):
    timings = {}
    began = time.monotonic()
    server, load_url = database_settings()
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/6"
    check_redis(redis_url)
    logs = work / "logs"
    logs.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EMAIL_", "SECURE_", "SESSION_", "CSRF_", "SQLITE_"))
        # Loopback only: no proxy between locust and gunicorn.
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="lightboard.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        BEHIND_TLS_PROXY="0",
        DATABASE_URL=load_url,
        REDIS_URL=redis_url,
        STATIC_ROOT=str(work / "static"),
        MEDIA_ROOT=str(work / "media"),
        # Nothing leaves the machine: the outbox is delivered to the in-app inbox only.
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )

    log(f"database {DATABASE} on {server['HOST'] or '127.0.0.1'}:{server['PORT'] or 5432}, Redis {redis_url}")
    maintenance(server, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE}")
    args.created = server
    manage(env, logs, "migrate", "--noinput")
    manage(env, logs, "seed_demo", "--force")
    manage(env, logs, "collectstatic", "--noinput")
    timings["setup_s"] = round(time.monotonic() - began, 1)
    log(f"migrated, seeded and collected static files in {timings['setup_s']}s")

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    args.gunicorn = start(
        [
            str(BIN / "gunicorn"), "lightboard.wsgi", "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5", "--no-control-socket",
        ],
        dict(env, WEB_CONCURRENCY=str(args.workers), GUNICORN_THREADS=str(args.threads)), logs / "gunicorn.log",
    )  # fmt: skip
    worker_name = f"lightboard-load-{os.getpid()}@{socket.gethostname()}"
    args.worker = start(
        [
            str(BIN / "celery"), "-A", "lightboard", "worker", "--hostname", worker_name,
            "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel=WARNING",
        ],
        env, logs / "worker.log",
    )  # fmt: skip
    wait_for_http(f"{host}/accounts/login/", args.gunicorn)
    wait_for_worker(redis_url, worker_name, args.worker)
    log(f"gunicorn ({args.workers} workers x {args.threads} threads) on {host} and a Celery worker are up")
    if args.capacity or args.signin_burst:
        return capacity(args, env, host, work, logs, timings)

    mix = mix_of(args.users)
    record_path = work / "record.json"
    locust_env = dict(
        env,
        LOAD_MIX=",".join(f"{name}={count}" for name, count in mix.items()),
        LOAD_WAIT=f"{args.wait[0]},{args.wait[1]}",
        LOAD_RECORD=str(record_path),
    )
    log(
        f"locust: {args.users} users ({', '.join(f'{c} {n}' for n, c in mix.items())}), "
        f"{args.spawn_rate}/s ramp-up, {args.duration}s, think time {args.wait[0]}-{args.wait[1]}s"
    )
    load_began = time.monotonic()
    loadavg_before = os.getloadavg()
    args.locust = start(
        [
            str(BIN / "locust"), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
            "--host", host, "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
            "--run-time", f"{args.duration}s", "--stop-timeout", "10", "--only-summary", "--loglevel", "WARNING",
        ],
        locust_env, logs / "locust.log",
    )  # fmt: skip
    try:
        locust_code = args.locust.wait(timeout=args.duration + 60)
    except subprocess.TimeoutExpired:
        raise SetupError(f"locust did not finish in time:\n{tail(logs / 'locust.log')}") from None
    timings["load_s"] = round(time.monotonic() - load_began, 1)
    if not record_path.exists():
        raise SetupError(f"locust (exit {locust_code}) wrote no record:\n{tail(logs / 'locust.log')}")
    summary = summarise(json.loads(record_path.read_text(encoding="utf-8")), args.users)
    notifications = outbox(load_url)
    alive = {name: p.poll() is None for name, p in (("gunicorn", args.gunicorn), ("worker", args.worker))}

    print()
    print_table(summary)
    print()
    log(
        f"{summary['whole_run']['overall']['requests']} requests in {summary['duration_s']}s; "
        f"{summary['users_signed_in']} of {args.users} users signed in"
    )
    log(f"notifications by state after the run: {notifications or 'none'}")
    log(
        f"1-minute load average {loadavg_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after "
        f"({os.cpu_count()} CPUs, shared by locust, gunicorn, PostgreSQL and anything else running)"
    )
    problems = []
    for key, count in summary["errors"].items():
        problems.append(f"{count} x {key}")
    problems += [f"user could not start: {error}" for error in summary["user_errors"]]
    problems += [f"{name} is no longer running" for name, up in alive.items() if not up]
    if locust_code and not problems:
        problems.append(f"locust exited with {locust_code}:\n{tail(logs / 'locust.log')}")
    if notifications.get("pending"):
        log(f"warning: {notifications['pending']} notifications still pending (the worker is behind or failing)")

    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "users": args.users,
        "mix": mix,
        "think_time_s": list(args.wait),
        "gunicorn": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread"},
        "database": "postgresql",
        "cpus": os.cpu_count(),
        # The machine's load average before and after: other work on it shows here.
        "loadavg_before": [round(x, 2) for x in loadavg_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        **summary,
        "notifications": notifications,
        "timings": timings,
        "passed": not problems,
        "problems": problems,
    }
    return result, problems, logs


# --- capacity mode -------------------------------------------------------------------

BUDGET_RPS = 150  # requests per second at the knee, on a 2-core machine (issue 16)
BUDGET_P95_MS = 250
MIN_PAGE_REQUESTS = 20  # a page's p95 counts towards "the limiting page" from this many requests in a step
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def password_hasher(env, logs):
    """settings.PASSWORD_HASHERS[0] and what one check of the demo password costs on this machine."""
    code = (
        "import time; from django.conf import settings; from django.contrib.auth.hashers import make_password, "
        "check_password; h = make_password('demo'); t = time.perf_counter(); check_password('demo', h); "
        "print(settings.PASSWORD_HASHERS[0], round((time.perf_counter() - t) * 1000, 1))"
    )
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SetupError(f"could not read PASSWORD_HASHERS:\n{result.stderr[-2000:]}")
    name, ms = result.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    return {"hasher": name, "check_ms": float(ms)}


def signin_burst(host, users, password):
    """`users` browsers open the login form, then all post it at the same moment (a barrier).
    Returns the sign-in POSTs' times (the hasher's cost and the session's creation) and errors."""
    import threading

    import requests

    logins = [name for name, count in mix_of(users).items() for _ in range(count)]
    barrier = threading.Barrier(len(logins))
    times, errors = [], []

    def one(login):
        session = requests.Session()
        session.trust_env = False  # loopback: no proxy
        try:
            form = session.get(f"{host}/accounts/login/", timeout=30)
            token = CSRF_INPUT.search(form.text)
            barrier.wait(timeout=60)
            began = time.perf_counter()
            answer = session.post(
                f"{host}/accounts/login/",
                data={"csrfmiddlewaretoken": token.group(1) if token else "", "username": login, "password": password},
                headers={"Origin": host, "Referer": f"{host}/accounts/login/"},
                allow_redirects=False,
                timeout=60,
            )
            elapsed = (time.perf_counter() - began) * 1000
            if answer.status_code != 302 or "/accounts/login/" in answer.headers.get("Location", ""):
                errors.append(f"{login}: status {answer.status_code} {answer.headers.get('Location', '')}".strip())
            else:
                times.append(elapsed)
        except (requests.RequestException, threading.BrokenBarrierError) as error:
            errors.append(f"{login}: {type(error).__name__}: {error}"[:300])
            barrier.abort()
        finally:
            session.close()

    threads = [threading.Thread(target=one, args=(login,)) for login in logins]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    wall = time.perf_counter() - began
    times.sort()
    return {
        "users": len(logins),
        "signed_in": len(times),
        "errors": errors,
        "p50_ms": round(percentile(times, 0.50), 1) if times else None,
        "p95_ms": round(percentile(times, 0.95), 1) if times else None,
        "max_ms": round(times[-1], 1) if times else None,
        "wall_s": round(wall, 1),
    }


def summarise_steps(record):
    """Each step's window (every user of the step signed in, the sign-in pages left out) as a table."""
    requests = record["requests"]
    steps = []
    for number, step in enumerate(record["steps"], 1):
        if step["window_from"] is None:
            pages, overall, seconds = [], _row("overall", [], 1), 0
        else:
            seconds = step["window_to"] - step["window_from"]
            rows = [r for r in requests if step["window_from"] <= r[1] < step["window_to"] and r[0] not in SIGN_IN]
            pages, overall = _table(rows, seconds)
        counted = [p for p in pages if p["requests"] >= MIN_PAGE_REQUESTS and p["p95_ms"] is not None]
        slowest = max(counted, key=lambda p: p["p95_ms"], default=None)
        within = (
            step["signed_in"]
            and not step["errors"]
            and not step["user_errors"]
            and overall["p95_ms"] is not None
            and overall["p95_ms"] <= BUDGET_P95_MS
        )
        steps.append(
            {
                "step": number,
                "users": step["users"],
                "signed_in": step["signed_in"],
                "window_s": round(seconds, 1),
                "rps": overall["rps"],
                "p50_ms": overall["p50_ms"],
                "p95_ms": overall["p95_ms"],
                "slowest_page": slowest["name"] if slowest else None,
                "slowest_p95_ms": slowest["p95_ms"] if slowest else None,
                "errors": step["errors"],
                "within_budget": bool(within),
                "pages": pages,
            }
        )
    return steps


def knee_of(steps, args):
    """The last step within budget before the first that is not, the page that limited it and why the run stopped."""
    knee = None
    for step in steps:
        if not step["within_budget"]:
            break
        knee = step
    over = next((s for s in steps if not s["within_budget"]), None)
    # The page whose p95 passed the budget first (at the earliest step; the slowest of those).
    crossed = None
    for step in steps:
        above = [p for p in step["pages"] if p["requests"] >= MIN_PAGE_REQUESTS and p["p95_ms"] > BUDGET_P95_MS]
        if above:
            page = max(above, key=lambda p: p["p95_ms"])
            crossed = {"page": page["name"], "step": step["step"], "users": step["users"], "p95_ms": page["p95_ms"]}
            break
    if over is None:
        last = steps[-1] if steps else None
        if last and last["users"] + args.step_users > args.max_users:
            reason = f"reached --max-users {args.max_users} within budget"
        else:
            reason = f"reached the time limit ({args.max_seconds}s) within budget"
    elif not over["signed_in"]:
        reason = f"not every user signed in at {over['users']} users"
    elif over["errors"]:
        reason = f"{over['errors']} errors at {over['users']} users"
    else:
        reason = f"p95 {over['p95_ms']} ms > {BUDGET_P95_MS} ms at {over['users']} users"
    if crossed is None and over is not None and over["errors"]:
        # No page crossed on time: the page with errors limited it.
        crossed = {"page": "(errors, see problems)", "step": over["step"], "users": over["users"], "p95_ms": None}
    return {
        "users": knee["users"] if knee else 0,
        "rps": knee["rps"] if knee else 0.0,
        "p95_ms": knee["p95_ms"] if knee else None,
        "slowest_page": knee["slowest_page"] if knee else None,
        "slowest_p95_ms": knee["slowest_p95_ms"] if knee else None,
        "limiting_page": crossed,
        "stopped_because": reason,
        "budget": {"rps": BUDGET_RPS, "p95_ms": BUDGET_P95_MS, "errors": 0},
    }


def print_steps(steps):
    header = (
        f"{'step':>4} {'users':>5} {'window s':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'slowest page (p95 ms)':<44} {'errors':>6}  budget"
    )
    print(header)
    print("-" * len(header))
    for s in steps:
        slowest = f"{s['slowest_page']} ({s['slowest_p95_ms']:.1f})" if s["slowest_page"] else "-"
        p50 = f"{s['p50_ms']:>7.1f}" if s["p50_ms"] is not None else f"{'-':>7}"
        p95 = f"{s['p95_ms']:>7.1f}" if s["p95_ms"] is not None else f"{'-':>7}"
        verdict = "within" if s["within_budget"] else ("OVER" if s["signed_in"] else "OVER (not all signed in)")
        print(
            f"{s['step']:>4} {s['users']:>5} {s['window_s']:>8.1f} {s['rps']:>7.2f} {p50} {p95} "
            f"{slowest:<44} {s['errors']:>6}  {verdict}"
        )


def capacity(args, env, host, work, logs, timings):
    """--capacity and --signin-burst: the sign-in burst, then the users stepped up to the knee."""
    hasher = password_hasher(env, logs)
    log(f"password hasher {hasher['hasher']} (settings.PASSWORD_HASHERS[0]): one check {hasher['check_ms']} ms")
    problems, result = (
        [],
        {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "mode": "capacity" if args.capacity else "signin-burst",
            "gunicorn": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread"},
            "database": "postgresql",
            "cpus": os.cpu_count(),
            "password_hasher": hasher,
        },
    )
    if args.burst_users:
        log(f"sign-in burst: {args.burst_users} users post the login form at once")
        burst = signin_burst(host, args.burst_users, os.environ.get("LOAD_PASSWORD", "demo"))
        result["signin_burst"] = burst
        problems += [f"sign-in burst: {error}" for error in burst["errors"]]
        time.sleep(3)  # let the hashing settle before the steps

    if args.capacity:
        record_path = work / "record.json"
        shares = mix_of(args.step_users)
        step = [args.step_users, args.step_seconds, args.max_users, args.settle, args.min_window]
        step += [BUDGET_P95_MS, args.max_seconds]
        locust_env = dict(
            env,
            LOAD_SHARES=",".join(f"{name}={count}" for name, count in shares.items()),
            LOAD_STEP=",".join(str(x) for x in step),
            LOAD_WAIT=f"{args.wait[0]},{args.wait[1]}",
            LOAD_RECORD=str(record_path),
        )
        log(
            f"capacity: +{args.step_users} users ({', '.join(f'{c} {n}' for n, c in shares.items())}) every "
            f"{args.step_seconds}s (window from {args.settle}s after the step's users signed in, at least "
            f"{args.min_window}s), up to {args.max_users} users or {args.max_seconds}s, think time "
            f"{args.wait[0]}-{args.wait[1]}s; stops at p95 > {BUDGET_P95_MS} ms or any error"
        )
        load_began = time.monotonic()
        loadavg_before = os.getloadavg()
        args.locust = start(
            [
                str(BIN / "locust"), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
                "--host", host, "--stop-timeout", "10", "--only-summary", "--loglevel", "WARNING",
            ],
            locust_env, logs / "locust.log",
        )  # fmt: skip
        try:
            locust_code = args.locust.wait(timeout=args.max_seconds + 3 * args.step_seconds + 90)
        except subprocess.TimeoutExpired:
            raise SetupError(f"locust did not finish in time:\n{tail(logs / 'locust.log')}") from None
        timings["load_s"] = round(time.monotonic() - load_began, 1)
        if not record_path.exists():
            raise SetupError(f"locust (exit {locust_code}) wrote no record:\n{tail(logs / 'locust.log')}")
        record = json.loads(record_path.read_text(encoding="utf-8"))
        steps = summarise_steps(record)
        knee = knee_of(steps, args)
        result.update(
            step_users=args.step_users,
            step_seconds=args.step_seconds,
            mix_per_step=shares,
            think_time_s=list(args.wait),
            loadavg_before=[round(x, 2) for x in loadavg_before],
            loadavg_after=[round(x, 2) for x in os.getloadavg()],
            steps=steps,
            knee=knee,
        )
        errors = {}
        for r in record["requests"]:
            if r[4]:
                errors[f"{r[0]}: {r[4]}"] = errors.get(f"{r[0]}: {r[4]}", 0) + 1
        result["errors"], result["user_errors"] = errors, record["user_errors"]
        if not steps:
            problems.append(f"locust (exit {locust_code}) ran no step:\n{tail(logs / 'locust.log')}")

        print()
        print(f"Capacity: each step's window, sign-in pages left out (budget p95 <= {BUDGET_P95_MS} ms, 0 errors)")
        print_steps(steps)
        print()
        limiting = knee["limiting_page"]
        print(
            f"knee: {knee['rps']:.2f} requests/s at {knee['users']} users (p95 {knee['p95_ms']} ms; "
            f"slowest page there {knee['slowest_page']} at {knee['slowest_p95_ms']} ms)"
        )
        if limiting:
            print(
                f"limiting page: {limiting['page']} (p95 {limiting['p95_ms']} ms > {BUDGET_P95_MS} ms first, "
                f"at step {limiting['step']}, {limiting['users']} users)"
            )
        else:
            print(f"limiting page: none passed {BUDGET_P95_MS} ms")
        print(f"stopped: {knee['stopped_because']}")
        if knee["rps"] < BUDGET_RPS:
            problems.append(f"knee {knee['rps']:.2f} requests/s < the budget of {BUDGET_RPS} requests/s")
        if errors:
            # The errors of the step past the knee end the run and mark it; they fail it only below budget.
            log("errors: " + "; ".join(f"{count} x {key}" for key, count in list(errors.items())[:10]))
        log(
            f"1-minute load average {loadavg_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after "
            f"({os.cpu_count()} CPUs, shared by locust, gunicorn, PostgreSQL and anything else running)"
        )

    if args.burst_users:
        burst = result["signin_burst"]
        print()
        print(
            f"Sign-in burst: {burst['signed_in']} of {burst['users']} signed in at once in {burst['wall_s']}s; "
            f"sign-in p50 {burst['p50_ms']} ms, p95 {burst['p95_ms']} ms, max {burst['max_ms']} ms; "
            f"hasher {hasher['hasher']} ({hasher['check_ms']} ms per check)"
        )
    alive = {name: p.poll() is None for name, p in (("gunicorn", args.gunicorn), ("worker", args.worker))}
    problems += [f"{name} is no longer running" for name, up in alive.items() if not up]
    result["timings"] = timings
    result["passed"] = not problems
    result["problems"] = problems
    return result, problems, logs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users started per second")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load, at most 120")
    parser.add_argument("--wait", type=float, nargs=2, default=(0.5, 1.5), metavar=("MIN", "MAX"))
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker (default: gunicorn.conf.py's)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "load-results.json")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the logs")
    capacity_mode = parser.add_argument_group("capacity mode")
    capacity_mode.add_argument(
        "--capacity", action="store_true", help="step the users up until p95 > 250 ms or an error; report the knee"
    )
    capacity_mode.add_argument("--step-users", type=int, default=10, help="users added per step")
    capacity_mode.add_argument("--step-seconds", type=int, default=15, help="seconds per step, at least")
    capacity_mode.add_argument("--settle", type=float, default=2.0, help="seconds after a step's sign-ins")
    capacity_mode.add_argument("--min-window", type=float, default=10.0, help="seconds measured per step, at least")
    capacity_mode.add_argument("--max-users", type=int, default=500)
    capacity_mode.add_argument("--max-seconds", type=int, default=300, help="no new step after this, at most 600")
    capacity_mode.add_argument(
        "--signin-burst", action="store_true", help="only the sign-in burst (--capacity runs it first too)"
    )
    capacity_mode.add_argument("--burst-users", type=int, default=50, help="users of the sign-in burst; 0: none")
    args = parser.parse_args()
    if not args.signin_burst and not args.capacity:
        args.burst_users = 0
    elif args.signin_burst and args.burst_users < 1:
        parser.error("--signin-burst needs --burst-users of at least 1")
    if args.capacity and not (1 <= args.step_users <= args.max_users and 1 <= args.max_seconds <= 600):
        parser.error("--capacity needs 1 <= --step-users <= --max-users and --max-seconds between 1 and 600")
    if not 1 <= args.duration <= 120:
        parser.error("--duration must be between 1 and 120 seconds")
    if args.users < 1:
        parser.error("--users must be at least 1")
    args.gunicorn = args.worker = args.locust = args.created = None
    # gunicorn.conf.py's values unless given: what a node runs is what is measured.
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    args.workers = args.workers or config["workers"]
    args.threads = args.threads or config["threads"]

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="lightboard-load-"))
    code = 2
    logs = work / "logs"
    try:
        result, problems, logs = run(args, work)
        result["timings"]["wall_s"] = round(time.monotonic() - began, 1)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        log(f"results written to {args.json}")
        if problems:
            log("FAIL: " + "; ".join(problems[:20]))
            code = 1
        elif args.capacity:
            knee = result["knee"]
            log(f"PASS: knee {knee['rps']:.2f} requests/s >= {BUDGET_RPS} at p95 <= {BUDGET_P95_MS} ms, 0 errors")
            code = 0
        elif args.signin_burst:
            log(f"PASS: {result['signin_burst']['signed_in']} users signed in at once, no errors")
            code = 0
        else:
            log(f"PASS: no error responses; {result['steady']['overall']['rps']} requests/s in the steady state")
            code = 0
    except SetupError as error:
        log(f"SETUP FAILED: {error}")
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    except SystemExit:
        log("stopped by a signal")
        code = 130
        raise
    finally:
        stop_all([(args.locust, "locust"), (args.gunicorn, "gunicorn"), (args.worker, "the Celery worker")])
        if code not in (0, 130) and logs.exists():
            for name in ("gunicorn.log", "worker.log", "locust.log"):
                text = tail(logs / name, 15)
                if text:
                    print(f"--- last lines of {name}:\n{text}")
        if args.created:
            try:
                maintenance(args.created, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            except SetupError as error:
                log(f"could not drop {DATABASE}: {error}")
        if args.keep_logs:
            log(f"logs kept in {logs}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        log(f"wall time {time.monotonic() - began:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
