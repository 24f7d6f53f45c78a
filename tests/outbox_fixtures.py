"""Helpers for the outbox tests that run a real Celery worker: a worker process that can be
killed with SIGKILL and started again, on the test database and a queue of its own, writing
its e-mail to files the test reads back. Imported explicitly by the tests that need them.

Kept light at import time: the worker imports `SlowFileBackend` from here as its e-mail backend."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.mail.backends.filebased import EmailBackend as FileBackend

MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)\s*$", re.M | re.I)


class SlowFileBackend(FileBackend):
    """The file-based backend, answering like a real mail server: the message is on disk (the
    server has it) a little before the call returns (`OUTBOX_TEST_SEND_DELAY` seconds). That
    gap is where a worker killed mid-send leaves a message delivered but not recorded.

    A message whose subject contains `OUTBOX_TEST_POISON` kills the process sending it."""

    def send_messages(self, email_messages):
        poison = os.environ.get("OUTBOX_TEST_POISON")
        if poison and any(poison in message.subject for message in email_messages):
            os.kill(os.getpid(), signal.SIGKILL)
        count = super().send_messages(email_messages)
        time.sleep(float(os.environ.get("OUTBOX_TEST_SEND_DELAY", "0")))
        return count


def services_available():
    """Skip (or, with LIGHTBOARD_REQUIRE_SERVICES=1 as in CI, fail) a test that needs a real
    worker on Redis and PostgreSQL when they are not configured."""
    from django.conf import settings

    missing = [
        name
        for name, value in [("REDIS_URL", settings.REDIS_URL), ("DATABASE_URL", settings.DATABASE_URL)]
        if not value
    ]
    if not missing:
        return
    reason = f"needs a real Celery worker on Redis and PostgreSQL; set {' and '.join(missing)}"
    if os.environ.get("LIGHTBOARD_REQUIRE_SERVICES") == "1":
        pytest.fail(f"LIGHTBOARD_REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


def message_ids(sink):
    """Every Message-ID in the e-mail files under `sink`, with how many times each was sent."""
    found = Counter()
    for path in Path(sink).glob("*"):
        found.update(match.decode() for match in MESSAGE_ID.findall(path.read_bytes()))
    return found


def wait_for(condition, *, timeout, interval=0.05, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class OutboxWorker:
    """One Celery worker at a time (one task in flight at most), consuming `queue`,
    on the test database, writing e-mail to `sink`. start() after kill() starts a new process."""

    def __init__(self, *, queue, sink, logs, database_url, send_delay=0.0):
        self.queue, self.sink, self.logs = queue, Path(sink), Path(logs)
        self.database_url, self.send_delay = database_url, send_delay
        self.pool = "solo"  # or "prefork": one child process, replaced by the parent when it dies
        self.environment = {}
        self.process = None
        self.started = 0

    @property
    def hostname(self):
        return f"{self.queue}-{self.started}"

    def start(self):
        from django.conf import settings

        from lightboard.celery import app as celery_app

        assert self.process is None or self.process.poll() is not None, "a worker is already running"
        self.started += 1
        env = dict(
            os.environ,
            DATABASE_URL=self.database_url,
            EMAIL_BACKEND="tests.outbox_fixtures.SlowFileBackend",
            EMAIL_FILE_PATH=str(self.sink),
            OUTBOX_TEST_SEND_DELAY=str(self.send_delay),
            **self.environment,
        )
        self.log = open(self.logs / f"worker-{self.started}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "lightboard", "worker",
                f"--pool={self.pool}", "--concurrency=1", "--queues", self.queue, "--hostname", f"{self.hostname}@%h",
                "--without-gossip", "--without-mingle", "--loglevel=INFO",
            ],
            cwd=settings.BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        destination = [f"{self.hostname}@{socket.gethostname()}"]
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=destination, timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Celery worker did not start; see {self.log.name}")
        return self

    def kill(self):
        """SIGKILL: no warm shutdown, no acknowledgement, no clean-up of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        if self.process is not None:
            self.log.close()


# The outbox workers' database sessions carry this name, so a test can tell them from the
# sessions of other workers or servers on the same test database.
WORKER_APPLICATION_NAME = "lightboard-outbox-test-worker"


def _test_database_url():
    from django.db import connection

    database = connection.settings_dict
    return (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
        f"{database['PORT'] or 5432}/{database['NAME']}?application_name={WORKER_APPLICATION_NAME}"
    )


def _forget_queue(queue):
    """Remove what this test left in Redis: its queue and the message a killed worker never
    acknowledged (else another worker on this Redis database would restore it in an hour)."""
    from lightboard.celery import app as celery_app

    with celery_app.connection_for_write() as connection:
        client = connection.default_channel.client
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        for tag, payload in client.hgetall("unacked").items():
            try:
                routing_key = json.loads(payload)[2]
            except (ValueError, IndexError, TypeError):
                continue
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


def outbox_worker_on_a_private_queue(tmp_path, django_db_blocker):
    """Body of a fixture (`yield from` it): a killable worker on a private queue, which this
    process sends its tasks to. Not started yet."""
    services_available()
    from lightboard.celery import app as celery_app

    queue = f"lightboard-outbox-{uuid.uuid4().hex[:8]}"
    sink, logs = tmp_path / "mail", tmp_path / "logs"
    sink.mkdir()
    logs.mkdir()
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    worker = OutboxWorker(queue=queue, sink=sink, logs=logs, database_url=database_url)
    try:
        yield worker
    finally:
        worker.stop()
        celery_app.conf.task_default_queue = previous_queue
        _forget_queue(queue)


def _reset_broker_connections(celery_app):
    # The app keeps a broker connection pool and a producer pool built from broker_url; drop both
    # (what Celery itself does after a fork) so the next publish connects to the current URL.
    # Not closed: kombu keeps one pool per broker address and hands the same one out again.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_unreachable(url="redis://127.0.0.1:1/0"):
    """Within the block this process publishes to a broker that refuses connections."""
    from lightboard.celery import app as celery_app
    from outbox.tasks import broker_circuit

    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = url
    _reset_broker_connections(celery_app)
    try:
        yield
    finally:
        celery_app.conf.broker_url = previous
        _reset_broker_connections(celery_app)
        broker_circuit.reset()  # the broker is back: publish again straight away
