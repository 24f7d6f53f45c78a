"""lightboard on more than one machine: two web nodes (gunicorn, production settings) and two
Celery workers, each a process of its own that shares nothing local with the others — each node
bound to its own loopback address (127.0.0.2, 127.0.0.3), with its own working and temporary
directories — only PostgreSQL, Redis and the media store (a directory here) are shared.

In front of the nodes the test plays a round-robin load balancer: each request goes to the next
node. A person signs in on one node and carries on on the other; a meeting is closed on one node
while letters are issued on both (numbers without gaps or duplicates); a worker is killed with
SIGKILL mid-delivery and the other one finishes (nothing lost).

Cookies: to a browser the nodes are one site behind the balancer's address, so it sends the same
cookies whichever node answers. Here each node has an address of its own and cookies are kept per
host, so the test's Browser keeps its cookies by name (not by host) and sends them to every node.
POSTs carry the Origin of the node that served the form, usually the other one: it is trusted
through CSRF_TRUSTED_ORIGINS, as a balancer's address would be."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection

from lightboard.celery import app as celery_app
from outbox.models import Notification
from outbox.tasks import sweep_outbox
from reviews.models import FollowUp, Letter, ReviewMeeting
from tasks.models import Evidence, SelfAssessment, User
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.outbox_fixtures import OutboxWorker, _forget_queue, services_available, wait_for
from tests.reviews_fixtures import close, open_meeting, rate, rate_all_missing, stage_of
from tests.test_outbox_worker import (
    assert_each_delivered_once_except_in_flight,
    let_leases_and_backoffs_pass,
    mailed_but_not_recorded,
    sent_count,
    write_notifications,
)

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESSES = ("127.0.0.2", "127.0.0.3")
SECRET_KEY = "multi-node-" + "k7Qx!v2Lp9#Zr4$Wm8%Tn3^Bc6&Hy1*Df5(Gj0)Sa-Ue_Io=Pl~Rt/Kq?Vb<Nm>" * 2
PASSWORD = "pw-multi-node"
WEB_APPLICATION_NAME = "lightboard-multi-node-web"
# Run after each gunicorn worker has loaded the app: its Celery messages go to the test's queue.
GUNICORN_HOOKS = """\
import os


def post_worker_init(worker):
    from lightboard.celery import app

    app.conf.task_default_queue = os.environ["LIGHTBOARD_TEST_QUEUE"]
"""


def free_port(address):
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def shared_database_url(application_name):
    """The pytest-django test database, which the nodes share with this process."""
    database = connection.settings_dict
    return (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
        f"{database['PORT'] or 5432}/{database['NAME']}?application_name={application_name}"
    )


def node_directories(root, name):
    """A node's own working and temporary directories."""
    work, tmp = root / name / "work", root / name / "tmp"
    work.mkdir(parents=True)
    tmp.mkdir()
    return work, tmp


class WebNode:
    """One web node: gunicorn with the production settings on its own address and directories."""

    def __init__(self, *, name, address, port, environment, root):
        self.name, self.address, self.port = name, address, port
        self.url = f"http://{address}:{self.port}"
        self.work, self.tmp = node_directories(root, name)
        self.environment = dict(environment, TMPDIR=str(self.tmp))
        (self.work / "gunicorn_hooks.py").write_text(GUNICORN_HOOKS)
        self.log = open(root / f"{name}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "lightboard.wsgi:application",
                "--bind", f"{address}:{self.port}", "--workers", "1", "--threads", "4", "--config", "gunicorn_hooks.py",
                "--worker-tmp-dir", str(self.tmp), "--timeout", "60", "--graceful-timeout", "5",
            ],
            cwd=self.work, env=self.environment, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def ready(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"web node {self.name} stopped; see {self.log.name}")
        try:
            return requests.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:  # not listening yet, or its workers still starting
            return False

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.log.close()


class NodeWorker(OutboxWorker):
    """tests.outbox_fixtures' killable worker, started in its node's own directories and named
    after its node, so that two of them can consume one queue."""

    def __init__(self, *, node, work, tmp, **kwargs):
        super().__init__(**kwargs)
        self.node, self.work, self.tmp = node, work, tmp

    @property
    def hostname(self):
        return f"{self.queue}-{self.node}-{self.started}"

    @property
    def application_name(self):
        return f"lightboard-multi-node-{self.node}"

    def launch(self):
        """Start the process without waiting for it (two workers start side by side)."""
        self.started += 1
        env = dict(
            os.environ,
            PYTHONPATH=str(settings.BASE_DIR),
            TMPDIR=str(self.tmp),
            DATABASE_URL=self.database_url,
            EMAIL_BACKEND="tests.outbox_fixtures.SlowFileBackend",
            EMAIL_FILE_PATH=str(self.sink),
            OUTBOX_TEST_SEND_DELAY=str(self.send_delay),
            **self.environment,
        )
        self.log = open(self.logs / f"{self.node}-{self.started}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "lightboard", "worker",
                f"--pool={self.pool}", "--concurrency=1", "--queues", self.queue, "--hostname", f"{self.hostname}@%h",
                "--without-gossip", "--without-mingle", "--loglevel=INFO",
            ],
            cwd=self.work, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    @property
    def destination(self):
        return f"{self.hostname}@{socket.gethostname()}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, django_db_setup, django_db_blocker):
    """Two web nodes on the test database, Redis and one media directory; this process sends its
    Celery messages to the same private queue as they do."""
    services_available()
    root = tmp_path_factory.mktemp("multi-node")
    media, static = root / "media", root / "static"
    media.mkdir()
    queue = f"lightboard-nodes-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        database_url = shared_database_url(WEB_APPLICATION_NAME)
    ports = {address: free_port(address) for address in ADDRESSES}
    dropped = {"DJANGO_ALLOW_ASYNC_UNSAFE", "LIGHTBOARD_TODAY", "SQLITE_PATH", "EMAIL_BACKEND", "EMAIL_FILE_PATH"}
    environment = {key: value for key, value in os.environ.items() if key not in dropped}
    environment.update(
        DEBUG="0",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS=",".join(ADDRESSES),
        CSRF_TRUSTED_ORIGINS=",".join(f"http://{address}:{port}" for address, port in ports.items()),
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        DATABASE_URL=database_url,
        REDIS_URL=settings.REDIS_URL,
        MEDIA_ROOT=str(media),
        STATIC_ROOT=str(static),
        PYTHONPATH=str(settings.BASE_DIR),
        LIGHTBOARD_TEST_QUEUE=queue,
    )
    # The static files as a deployment builds them (an image's collectstatic): read-only, not state.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=settings.BASE_DIR, env=environment, check=True, timeout=120,
    )  # fmt: skip
    nodes = []
    for number, address in enumerate(ADDRESSES, 1):
        nodes.append(
            WebNode(name=f"node{number}", address=address, port=ports[address], environment=environment, root=root)
        )
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        wait_for(lambda: all(node.ready() for node in nodes), timeout=60, interval=0.2, what="both web nodes ready")
        yield {"nodes": nodes, "queue": queue, "root": root, "media": media}
    finally:
        for node in nodes:
            node.stop()
        celery_app.conf.task_default_queue = previous_queue
        _forget_queue(queue)


class Browser:
    """One person's browser behind a round-robin balancer: each request goes to the next node;
    the cookies go to whichever node answers (see the module's docstring)."""

    def __init__(self, nodes, *, first=0):
        self.nodes, self.turn = nodes, first
        self.cookies = {}
        self.served_by = []
        self.origin = None
        self.token = None

    def request(self, method, path, **kwargs):
        node = self.nodes[self.turn % len(self.nodes)]
        self.turn += 1
        headers = kwargs.pop("headers", {})
        if method == "POST":
            headers["Origin"] = self.origin or node.url
            kwargs.setdefault("data", {})["csrfmiddlewaretoken"] = self.token
        response = requests.request(
            method, node.url + path, headers=headers, cookies=self.cookies, allow_redirects=False, timeout=60, **kwargs
        )
        self.cookies.update(response.cookies.get_dict())
        self.served_by.append(node.address)
        self.origin = node.url
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text) if response.text else None
        if found:
            self.token = found.group(1)
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def sign_in(self, username):
        assert self.get("/accounts/login/").status_code == 200
        response = self.post("/accounts/login/", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, f"sign-in as {username} failed: {response.status_code}"
        assert "sessionid" in self.cookies
        return self


def with_real_password(*users):
    """The cast's passwords are hashed with MD5 for speed; the nodes verify Argon2, as in production."""
    password = make_password(PASSWORD, hasher="argon2")
    User.objects.filter(pk__in=[user.pk for user in users]).update(password=password)


@pytest.fixture
def argon2(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]


def test_a_person_signs_in_on_one_node_and_carries_on_on_the_other(cluster, argon2, year, department_a, staff_a):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="新产线投产")
    with_real_password(staff_a)
    first, second = cluster["nodes"]
    browser = Browser(cluster["nodes"])

    browser.sign_in("staff_a")  # the form from the first node, the password to the second
    home = browser.get("/")  # the first node knows the session the second one started
    assert home.status_code == 302 and "/accounts/login/" not in home.headers["Location"]
    page = browser.get(f"/tasks/{task.pk}/")
    assert page.status_code == 200 and "新产线投产" in page.text

    assess = f"/tasks/{task.pk}/stages/1/assess/"
    assert browser.get(assess).status_code == 200  # the form, and its CSRF token, from one node …
    evidence = b"%PDF-1.4 evidence uploaded on one node, read on the other"
    saved = browser.post(  # … the draft to the other
        assess,
        data={"completion": "72.5", "account": "一号产线已调试", "version": "0", "action": "draft"},
        files={"evidence": ("调试记录.pdf", evidence, "application/pdf")},
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith(assess)
    after = browser.get(assess)
    assert after.status_code == 200 and "一号产线已调试" in after.text

    assessment = SelfAssessment.objects.get(task=task, stage__number=1)
    assert assessment.state == SelfAssessment.State.DRAFT
    assert str(assessment.completion) == "72.5" and assessment.updated_by == staff_a
    # The evidence went to the shared media store; the other node serves it.
    stored = Evidence.objects.get(assessment=assessment)
    assert (cluster["media"] / stored.file.name).read_bytes() == evidence
    uploaded_on = browser.served_by[-2]  # the node that took the draft with its file
    if browser.served_by[-1] != uploaded_on:
        browser.get(assess)  # one more page, so that the download goes to the other node
    download = browser.get(f"/tasks/evidence/{stored.pk}/")
    assert download.status_code == 200 and download.content == evidence
    assert browser.served_by[-1] != uploaded_on

    assert set(browser.served_by) == set(ADDRESSES)
    assert browser.served_by[::2] == [first.address] * len(browser.served_by[::2])
    assert browser.served_by[1::2] == [second.address] * len(browser.served_by[1::2])
    # Two processes, each in its own working directory, and nothing about the person kept there.
    assert first.process.pid != second.process.pid
    for node in cluster["nodes"]:
        assert Path(f"/proc/{node.process.pid}/cwd").resolve() == node.work.resolve()
        assert [path.name for path in node.work.iterdir()] == ["gunicorn_hooks.py"]
        assert requests.get(f"{node.url}/readyz", timeout=5).json() == {
            "status": "ready",
            "database": "ok",
            "redis": "ok",
        }


def test_a_meeting_closed_on_one_node_while_letters_are_issued_on_both(
    cluster, argon2, year, department_a, department_b, staff_a, staff_b, leadership, inspector
):
    """Eight supervision letters, issued by two inspectors' tabs at once through both nodes,
    while the next meeting is closed (and its commendation notice numbered) on the first node."""
    red = [
        KeyTaskFactory(year=year, department=(department_a, department_b)[n % 2], owner=(staff_a, staff_b)[n % 2])
        for n in range(8)
    ]
    earlier = open_meeting(stage_of(year, 2), leadership)
    for task in red:
        rate(earlier, task, 40, leadership, decision="发函督办")
    close(earlier, leadership)
    red_cases = list(FollowUp.objects.filter(rating__meeting=earlier).order_by("pk"))
    assert len(red_cases) == 8
    meeting = open_meeting(stage_of(year, 3), leadership)
    rate_all_missing(meeting, leadership, score=92)
    with_real_password(leadership, inspector)
    nodes = cluster["nodes"]

    chair = Browser(nodes[:1]).sign_in("leadership")  # closes on the first node only
    tabs = [Browser(nodes, first=0).sign_in("inspector"), Browser(nodes, first=1).sign_in("inspector")]
    for tab in tabs[1:]:
        tab.cookies = dict(tabs[0].cookies)  # two tabs of one browser: one session
    assert chair.get(f"/reviews/meetings/{meeting.pk}/close/").status_code == 200
    for tab in tabs:
        assert tab.get(f"/reviews/followups/{red_cases[0].pk}/").status_code == 200

    barrier = threading.Barrier(3)
    answers, errors = [], []

    def closing():
        try:
            barrier.wait(timeout=10)
            answers.append(("close", chair.post(f"/reviews/meetings/{meeting.pk}/close/").status_code))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def issuing(tab, cases):
        try:
            barrier.wait(timeout=10)
            for case in cases:
                data = {"action": "supervision", "version": str(case.version), "text": f"请于十日内整改：{case.pk}"}
                answers.append((case.pk, tab.post(f"/reviews/followups/{case.pk}/", data=data).status_code))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=closing),
        threading.Thread(target=issuing, args=(tabs[0], red_cases[0::2])),
        threading.Thread(target=issuing, args=(tabs[1], red_cases[1::2])),
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    took = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads) and errors == []
    assert sorted(status for _what, status in answers) == [302] * 9, answers

    print(f"\n8 letters and a meeting's close through two nodes in {took:.2f}s; served by {tabs[0].served_by}")
    assert set(tabs[0].served_by[-4:]) == set(tabs[1].served_by[-4:]) == set(ADDRESSES)
    supervision = Letter.objects.filter(kind=Letter.Kind.SUPERVISION, year=year.year).order_by("sequence")
    assert list(supervision.values_list("sequence", flat=True)) == list(range(1, 9)), "no gap, no duplicate"
    assert {letter.case_id for letter in supervision} == {case.pk for case in red_cases}
    assert set(FollowUp.objects.filter(pk__in=[c.pk for c in red_cases]).values_list("state", flat=True)) == {
        FollowUp.State.NOTIFIED
    }
    assert ReviewMeeting.objects.get(pk=meeting.pk).state == ReviewMeeting.State.CLOSED
    commendations = Letter.objects.filter(kind=Letter.Kind.COMMENDATION, year=year.year)
    assert list(commendations.values_list("sequence", flat=True)) == [1]


BATCH = 20


def test_a_worker_killed_mid_delivery_and_the_other_finishes(cluster, tmp_path, django_db_blocker):
    queue = cluster["queue"]
    sink, logs = tmp_path / "mail", tmp_path / "logs"
    sink.mkdir()
    logs.mkdir()
    workers = []
    for number in (1, 2):
        work, tmp = node_directories(tmp_path, f"worker-node{number}")
        worker = NodeWorker(
            node=f"node{number}", work=work, tmp=tmp, queue=queue, sink=sink, logs=logs, database_url=""
        )
        worker.database_url = shared_database_url(worker.application_name)
        worker.send_delay = 0.01
        worker.environment = {"OUTBOX_BATCH_SIZE": str(BATCH)}
        workers.append(worker)
    try:
        for worker in workers:
            worker.launch()
        wait_for(
            lambda: len(celery_app.control.ping(destination=[w.destination for w in workers], timeout=0.5)) == 2,
            timeout=60,
            what="both workers to answer",
        )
        recipients = [make_user(f"recipient{n}", email=f"recipient{n}@example.com") for n in range(10)]
        expected = write_notifications(300, recipients)
        sweep_outbox.delay()  # a second signal: both workers take batches

        wait_for(lambda: sent_count() >= 60, timeout=60, interval=0.005, what="60 sent")
        wait_for(lambda: len(mailed_but_not_recorded(sink)) >= 3, timeout=10, interval=0.002, what="a batch half sent")
        busy = wait_for(lambda: busy_workers(workers), timeout=10, interval=0.01, what="a worker busy delivering")
        victim = busy[0]
        survivor = next(w for w in workers if w is not victim)
        victim.kill()
        assert victim.process.returncode == -signal.SIGKILL
        wait_for(lambda: sessions_of(victim) == 0, timeout=10, what="PostgreSQL to drop the killed worker's session")
        in_flight = mailed_but_not_recorded(sink)
        killed_at = sent_count()
        print(f"\nkilled {victim.node}'s worker at {killed_at} of 300 recorded; in flight: {len(in_flight)}")
        assert killed_at < 300, "the kill came mid-delivery"

        # Beat's sweep (played by the test, with the clock moved past the dead worker's lease).
        deadline = time.monotonic() + 40
        while Notification.objects.filter(state=Notification.State.PENDING).exists():
            assert time.monotonic() < deadline, "the surviving worker did not deliver everything in time"
            let_leases_and_backoffs_pass()
            sweep_outbox.delay()
            time.sleep(0.3)
        assert survivor.process.poll() is None
        assert_each_delivered_once_except_in_flight(sink, expected, in_flight, batch_size=BATCH)
        log = (logs / f"{survivor.node}-1.log").read_text(errors="replace")
        assert "outbox.tasks.sweep_outbox" in log and "succeeded" in log
    finally:
        for worker in workers:
            worker.stop()


def busy_workers(workers):
    """The workers in the middle of a task: a solo-pool worker answers control messages only
    between tasks, so the one delivering does not answer a ping (the other one does)."""
    answered = {
        name for reply in celery_app.control.ping(destination=[w.destination for w in workers], timeout=0.3)
        for name in reply
    }  # fmt: skip
    return [worker for worker in workers if worker.destination not in answered]


def sessions_of(worker):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [worker.application_name],
        )
        return cursor.fetchone()[0]
