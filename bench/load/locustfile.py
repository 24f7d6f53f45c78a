"""Locust users of lightboard: the demo logins doing their usual pages and a few writes.

Run by bench/load/run.py (`make load`), which starts gunicorn, PostgreSQL's throwaway
database and a Celery worker first. Every virtual user signs in once through the real login
form (with its CSRF token) as one of the demo logins; several virtual users share a login.
A login that fails stops that user instead of trying again, so a wrong password is never
repeated against the login form.

Every response is checked: a status other than the one expected (a 3xx where a page is
expected, e.g. a session that fell back to the login page, counts too) or a connection
error is a failure. With LOAD_RECORD set, every request (name, start, milliseconds, error)
is written to that JSON file when locust quits, for run.py's exact percentiles.

Environment: LOAD_MIX ("staff=20,leader=8,..."), LOAD_WAIT ("0.5,1.5" seconds of think time),
LOAD_PASSWORD (default "demo"), LOAD_RECORD.

Capacity mode (run.py --capacity): LOAD_SHARES ("staff=10,leader=4,...") replaces the fixed counts
with weights, and LOAD_STEP ("users,seconds,max_users,settle,min_window,p95_ms,max_seconds")
selects CapacityShape, which raises the number of users by `users` every step. A step's window
opens `settle` seconds after all its users have signed in and lasts at least `min_window` and
until `seconds` after the step began; the run stops after the first step whose p95 (all pages but
the sign-in) passes `p95_ms` or that has any error, at `max_users`, or after `max_seconds`. The
steps' windows go into the record (RECORD["steps"]) for run.py's tables.
"""

import json
import os
import random
import re
import time
from html import unescape
from urllib.parse import urlencode

from locust import FastHttpUser, LoadTestShape, between, events, task
from locust.exception import StopUser

PASSWORD = os.environ.get("LOAD_PASSWORD", "demo")
WAIT_MIN, WAIT_MAX = (float(x) for x in os.environ.get("LOAD_WAIT", "0.5,1.5").split(","))
MIX = {
    name: int(count)
    for name, _sep, count in (item.partition("=") for item in os.environ.get("LOAD_MIX", "").split(",") if item)
}
SHARES = {
    name: int(share)
    for name, _sep, share in (item.partition("=") for item in os.environ.get("LOAD_SHARES", "").split(",") if item)
}


def _count(login, default):
    """A fixed number of users of this login, or 0 (locust then spawns by weight) with LOAD_SHARES."""
    return 0 if SHARES else MIX.get(login, default)


def _weight(login):
    return SHARES.get(login, 1)


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION_INPUT = re.compile(r'name="version" value="(\d+)"')
STALE_EDIT = "修改了此项"
STYLESHEET = re.compile(r'<link[^>]+href="(/static/[^"]+\.css)"')
HTMX = {"HX-Request": "true"}


def _ids(pattern, html):
    return sorted({int(match) for match in re.findall(pattern, html)})


def _options(select_name, html):
    """The non-empty option values of <select name=...> in html."""
    block = re.search(rf'<select name="{select_name}"[^>]*>(.*?)</select>', html, re.S)
    return [unescape(value) for value in re.findall(r'<option value="([^"]+)"', block.group(1))] if block else []


# --- recording -----------------------------------------------------------------------

RECORD = {
    "started": None,
    "spawned": None,
    "ready": [],
    "stopped": None,
    "requests": [],
    "user_errors": [],
    "steps": [],
}


@events.test_start.add_listener
def _on_test_start(**_kwargs):
    RECORD["started"] = time.time()


@events.spawning_complete.add_listener
def _on_spawning_complete(**_kwargs):
    RECORD["spawned"] = time.time()


@events.request.add_listener
def _on_request(name, start_time, response_time, exception=None, response=None, **_kwargs):
    status = getattr(response, "status_code", 0) or 0
    error = None if exception is None else f"{type(exception).__name__}: {exception}"[:300]
    RECORD["requests"].append([name, round(start_time, 4), round(response_time, 2), status, error])


@events.user_error.add_listener
def _on_user_error(user_instance, exception, tb, **_kwargs):
    RECORD["user_errors"].append(f"{type(user_instance).__name__}: {type(exception).__name__}: {exception}"[:300])


@events.test_stop.add_listener
def _on_test_stop(**_kwargs):
    RECORD["stopped"] = time.time()


@events.quitting.add_listener
def _on_quitting(**_kwargs):
    path = os.environ.get("LOAD_RECORD")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(RECORD, out)


# --- users ---------------------------------------------------------------------------


class LightboardUser(FastHttpUser):
    """Signs in once as `login` and keeps its session; subclasses add their pages.

    FastHttpUser (geventhttpclient) rather than HttpUser (requests): the load generator shares the
    machine's cores with gunicorn and PostgreSQL, and requests costs several times more CPU per
    request, which the capacity mode would otherwise count against lightboard."""

    abstract = True
    login = ""
    landing = "/"
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def get(self, path, name, *, expect=200, htmx=False, params=None):
        """GET without following redirects; anything but `expect` is a failure. Returns the body."""
        headers = HTMX if htmx else None
        url = f"{path}?{urlencode(params)}" if params else path
        with self.client.get(url, name=name, headers=headers, allow_redirects=False, catch_response=True) as response:
            if response.status_code != expect:
                where = response.headers.get("Location", "")
                response.failure(f"{path}: status {response.status_code}, expected {expect} {where}".strip())
                return ""
            response.success()
            return response.text

    def post(self, path, name, data, *, expect=302, refusal=None):
        """POST a form (with the CSRF token of the page it came from) as a browser would. A 400
        whose page says `refusal` is an answer the application means to give, not a failure."""
        headers = {"Origin": self.host.rstrip("/"), "Referer": self.host.rstrip("/") + path}
        with self.client.post(
            path, name=name, data=data, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if refusal and response.status_code == 400 and refusal in response.text:
                response.success()
                return None
            if response.status_code != expect:
                response.failure(f"POST {path}: status {response.status_code}, expected {expect}")
                return None
            response.success()
            return response

    def on_start(self):
        form = self.get("/accounts/login/", "login form")
        token = CSRF_INPUT.search(form)
        if not token:
            self.give_up("the login page has no CSRF token")
        answer = self.post(
            "/accounts/login/",
            "login",
            {"csrfmiddlewaretoken": token.group(1), "username": self.login, "password": PASSWORD},
        )
        if answer is None or "/accounts/login/" in answer.headers.get("Location", ""):
            # Never try again: a wrong password must not be repeated against the login form.
            self.give_up(f"{self.login} could not sign in")
        self.get(answer.headers["Location"], "home (role redirect)", expect=302)
        page = self.get(self.landing, self.landing_name)
        stylesheet = STYLESHEET.search(page)
        if stylesheet:  # a browser fetches the page's stylesheet once, then caches it
            self.get(stylesheet.group(1), "static css")
        self.discover(page)
        RECORD["ready"].append(time.time())  # signed in and at work: run.py's steady state starts after the last

    landing_name = "home"

    def discover(self, page):
        """Find the ids this user works on from its landing page (and what it links to)."""

    def give_up(self, reason):
        """Stop this virtual user for good; the run counts it as an error."""
        RECORD["user_errors"].append(f"{type(self).__name__}: {reason}")
        raise StopUser(reason)

    def need(self, items, what):
        if not items:
            self.give_up(f"{self.login}: no {what} found in the demo data")
        return items

    @task(2)
    def inbox_count(self):
        self.get("/inbox/count/", "inbox:count (htmx)", htmx=True)


class Staff(LightboardUser):
    login = "staff"
    landing = "/tasks/mine/"
    landing_name = "tasks:mine"
    fixed_count = _count("staff", 20)
    weight = _weight("staff")

    def discover(self, page):
        self.task_ids = self.need(_ids(r'href="/tasks/(\d+)/"', page), "tasks in my tasks")
        assess = sorted(set(re.findall(r'href="/tasks/(\d+)/stages/(\d+)/assess/"', page)))
        self.assess_paths = self.need([f"/tasks/{t}/stages/{n}/assess/" for t, n in assess], "assess links")
        # The drafts: tasks whose current stage is still editable ("Self-assess" buttons).
        editable = re.findall(r'class="button" href="(/tasks/\d+/stages/\d+/assess/)"', page)
        self.draft_paths = self.need(sorted(set(editable)), "editable self-assessments")

    @task(3)
    def my_tasks(self):
        self.get("/tasks/mine/", "tasks:mine")

    @task(2)
    def task_page(self):
        self.get(f"/tasks/{random.choice(self.task_ids)}/", "tasks:detail")

    @task(3)
    def assess_and_preview(self):
        path = random.choice(self.assess_paths)
        self.get(path, "tasks:assess")
        task_id = path.split("/")[2]
        typed = ""
        for key in random.choice(["85", "72.5", "59.9", "100"]):  # typing: one preview per keystroke
            typed += key
            self.get(f"/tasks/{task_id}/light/", "tasks:light_preview (htmx)", htmx=True, params={"completion": typed})

    @task(1)
    def save_draft(self):
        path = random.choice(self.draft_paths)
        page = self.get(path, "tasks:assess")
        token, version = CSRF_INPUT.search(page), VERSION_INPUT.search(page)
        if not (token and version):
            return  # the GET already failed, or the form is read-only: nothing to save
        completion = f"{random.randint(40, 99)}.{random.randint(0, 9)}"
        data = {
            "csrfmiddlewaretoken": token.group(1),
            "completion": completion,
            "account": f"负载测试草稿：已完成{completion}%。",
            "action": "draft",
            "version": version.group(1),
        }
        # Virtual users share the demo login and its drafts: one saving a draft another saved
        # since loading it is told so (optimistic locking), as a person would be.
        answer = self.post(path, "tasks:assess POST draft", data, refusal=STALE_EDIT)
        if answer is not None:
            self.get(answer.headers["Location"], "tasks:assess")


class Leader(LightboardUser):
    login = "leader"
    landing = "/reviews/confirmations/"
    landing_name = "reviews:confirmations"
    fixed_count = _count("leader", 8)
    weight = _weight("leader")

    def discover(self, page):
        self.confirmations = _ids(r'href="/reviews/confirmations/(\d+)/"', page)
        lists = self.get("/tasks/lists/", "tasks:lists")
        found = sorted(set(re.findall(r'href="(/tasks/lists/\d{4}/[\w-]+/)"', lists)))
        self.lists = self.need(found, "task lists")

    @task(3)
    def queue(self):
        self.get("/reviews/confirmations/", "reviews:confirmations")

    @task(1)
    def confirmation(self):
        if self.confirmations:
            self.get(f"/reviews/confirmations/{random.choice(self.confirmations)}/", "reviews:confirmation")

    @task(1)
    def list_index(self):
        self.get("/tasks/lists/", "tasks:lists")

    @task(3)
    def task_list(self):
        self.get(random.choice(self.lists), "tasks:list")


class Leadership(LightboardUser):
    login = "leadership"
    landing = "/reviews/meetings/"
    landing_name = "reviews:meetings"
    fixed_count = _count("leadership", 12)
    weight = _weight("leadership")

    def discover(self, page):
        self.closed = self.need(_ids(r'href="/reviews/meetings/(\d+)/minutes/"', page), "closed meetings")
        board = self.get(f"/reviews/meetings/{self.closed[-1]}/", "reviews:board")
        self.colours = self.need([c for c in _options("colour", board) if c], "colour filters")
        self.departments = self.need([d for d in _options("department", board) if d], "department filters")

    @task(2)
    def meetings(self):
        self.get("/reviews/meetings/", "reviews:meetings")

    @task(2)
    def board(self):
        self.get(f"/reviews/meetings/{random.choice(self.closed)}/", "reviews:board")

    @task(4)
    def board_filter(self):
        params = random.choice(
            [
                {"colour": random.choice(self.colours)},
                {"department": random.choice(self.departments)},
                {"colour": random.choice(self.colours), "department": random.choice(self.departments)},
                {},
            ]
        )
        path = f"/reviews/meetings/{random.choice(self.closed)}/"
        self.get(path, "reviews:board (htmx filter)", htmx=True, params=params)

    @task(2)
    def minutes(self):
        self.get(f"/reviews/meetings/{random.choice(self.closed)}/minutes/", "reviews:minutes")


class Inspector(LightboardUser):
    login = "inspector"
    landing = "/reviews/followups/"
    landing_name = "reviews:followups"
    fixed_count = _count("inspector", 6)
    weight = _weight("inspector")

    def discover(self, page):
        self.cases = self.need(_ids(r'href="/reviews/followups/(\d+)/"', page), "follow-up cases")

    @task(3)
    def queue(self):
        self.get("/reviews/followups/", "reviews:followups")

    @task(1)
    def queue_filter(self):
        params = {"colour": random.choice(["red", "yellow"])}
        self.get("/reviews/followups/", "reviews:followups (htmx filter)", htmx=True, params=params)

    @task(3)
    def case(self):
        self.get(f"/reviews/followups/{random.choice(self.cases)}/", "reviews:case")


class Administrator(LightboardUser):
    login = "admin"
    landing = "/admin/"
    landing_name = "admin:index"
    fixed_count = _count("admin", 4)
    weight = _weight("admin")

    @task(2)
    def index(self):
        self.get("/admin/", "admin:index")

    @task(1)
    def key_tasks(self):
        self.get("/admin/tasks/keytask/", "admin:keytask changelist")


# --- capacity mode -------------------------------------------------------------------

SIGN_IN = ("login form", "login", "home (role redirect)", "static css")


def _p95(values):
    """Nearest-rank 95th percentile, as run.py computes it."""
    if not values:
        return None
    values = sorted(values)
    return values[max(1, -(-len(values) * 95 // 100)) - 1]


if os.environ.get("LOAD_STEP"):

    class CapacityShape(LoadTestShape):
        """Steps the number of users up until p95 passes the budget or an error appears (see above)."""

        def __init__(self):
            super().__init__()
            step, seconds, most, settle, window, budget, limit = os.environ["LOAD_STEP"].split(",")
            self.step_users, self.most = int(step), int(most)
            self.seconds, self.settle, self.window = float(seconds), float(settle), float(window)
            self.budget, self.limit = float(budget), float(limit)
            self.users = 0
            self.began = self.step_began = self.ready_at = None
            self.first_request = 0
            self.done = False

        def _next_step(self, now):
            self.users += self.step_users
            self.step_began, self.ready_at = now, None
            self.first_request = len(RECORD["requests"])

        def _close_step(self, now, window_from, signed_in):
            """Record the step's window; True when the run should go on."""
            requests = RECORD["requests"][self.first_request :]
            errors = sum(1 for r in requests if r[4])
            measured = [r for r in requests if window_from is not None and r[1] >= window_from and r[0] not in SIGN_IN]
            p95 = _p95([r[2] for r in measured])
            RECORD["steps"].append(
                {
                    "users": self.users,
                    "began": self.step_began,
                    "window_from": window_from,
                    "window_to": now,
                    "signed_in": signed_in,
                    "errors": errors,
                    "user_errors": len(RECORD["user_errors"]),
                }
            )
            within = signed_in and not errors and not RECORD["user_errors"] and p95 is not None and p95 <= self.budget
            return within and self.users + self.step_users <= self.most and now - self.began < self.limit

        def tick(self):
            if self.done:
                return None
            now = time.time()
            if self.began is None:
                self.began = now
                self._next_step(now)
            signed_in = len(RECORD["ready"]) >= self.users
            if signed_in and self.ready_at is None:
                self.ready_at = now
            window_from = None if self.ready_at is None else self.ready_at + self.settle
            if window_from is not None and now >= max(self.step_began + self.seconds, window_from + self.window):
                if not self._close_step(now, window_from, True):
                    self.done = True
                    return None
                self._next_step(now)
            elif window_from is None and (now - self.step_began > 3 * self.seconds or RECORD["user_errors"]):
                self._close_step(now, None, False)  # the users could not all sign in: the step fails
                self.done = True
                return None
            return self.users, max(self.step_users / 2, 1.0)
