"""The outbox with a real Celery worker on the real Redis and PostgreSQL: 500 messages survive
a worker killed with SIGKILL part-way and its database connections terminated mid-batch (lost
0, re-sent only what was in flight, at most a batch); a message that kills its worker is set
aside after three deaths while the others go; a meeting closed while the broker is unreachable
is announced once it is back. And the Celery settings that make this so."""

import re
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from lightboard.celery import app as celery_app
from lightboard.tasks import heartbeat, heartbeat_seen
from outbox import delivery, services
from outbox.kinds import Category, Mode
from outbox.models import Notification, Preference
from outbox.tasks import (
    RUN_SECONDS,
    broker_circuit,
    deliver_notification,
    deliver_outbox,
    send_daily_digests,
    sweep_outbox,
)
from tasks.models import User
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.outbox_fixtures import (
    WORKER_APPLICATION_NAME,
    broker_unreachable,
    message_ids,
    outbox_worker_on_a_private_queue,
    wait_for,
)
from tests.reviews_fixtures import close, confirm, open_meeting, rate, stage_of

PENDING, SENT, FAILED = Notification.State.PENDING, Notification.State.SENT, Notification.State.FAILED


@pytest.fixture
def outbox_worker(tmp_path, django_db_blocker):
    yield from outbox_worker_on_a_private_queue(tmp_path, django_db_blocker)


@pytest.fixture
def broker_circuit_closed_after():
    """A test that trips the circuit leaves it closed for the next test, which needs the broker."""
    broker_circuit.reset()
    yield broker_circuit
    broker_circuit.reset()


@pytest.fixture
def reader(db):
    return make_user("reader", email="reader@example.com")


def test_a_broker_failure_does_not_hold_up_the_commit_or_lose_rows(
    reader, monkeypatch, django_capture_on_commit_callbacks, broker_circuit_closed_after
):
    """One refused publish is enough: later commits are left to the sweep for a while instead
    of each waiting for the broker again."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(deliver_outbox, "delay", refuse)
    for number in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            services.notify(recipient=reader, kind="letter_reminder", subject=f"提醒{number}", key=f"letter:1:{number}")

    assert len(calls) == 1
    assert Notification.objects.filter(state=PENDING).count() == 5


# --- the Celery settings match the design -------------------------------------------------


def test_delivery_tasks_are_signals_and_the_broker_redelivers_within_minutes():
    """The rows are the queue: a delivery task only says "rows may be due", so losing one with
    its worker loses nothing (the lease and the sweep bring the rows back)."""
    for task in (deliver_outbox, deliver_notification, sweep_outbox, send_daily_digests):
        assert task.acks_late is False and task.ignore_result is True
    conf = celery_app.conf
    assert conf.worker_prefetch_multiplier == 1
    assert conf.beat_schedule["sweep-outbox"]["task"] == "outbox.tasks.sweep_outbox"
    assert conf.beat_schedule["sweep-outbox"]["schedule"] <= 60
    assert conf.beat_schedule["daily-digests"]["task"] == "outbox.tasks.send_daily_digests"
    # No task outlives the visibility timeout, and a run of deliveries ends well before its limit.
    assert (
        RUN_SECONDS
        < conf.task_soft_time_limit
        < conf.task_time_limit
        < conf.broker_transport_options["visibility_timeout"]
        <= 600
    )
    assert delivery.LEASE.total_seconds() >= conf.task_time_limit
    # A publish gives up quickly when the broker is gone (the row stays pending for the sweep).
    assert conf.broker_transport_options["socket_timeout"] <= 10
    assert conf.task_publish_retry_policy["max_retries"] <= 3


def test_no_task_is_scheduled_with_eta_or_countdown():
    """Scheduled work is a row with a due time: a Redis broker would hold an eta/countdown
    task unacknowledged and redeliver it only after the visibility timeout."""
    offenders = []
    for path in sorted((Path(settings.BASE_DIR) / "reviews").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\bcountdown\s*=|\beta\s*=|\bapply_async\s*\(", code):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


# --- a real worker on Redis and PostgreSQL --------------------------------------------------


def sent_count():
    return Notification.objects.filter(state=SENT).count()


def other_sessions():
    """The outbox workers' sessions on the test database (a killed worker's stays until
    PostgreSQL notices it is gone and rolls its transaction back)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [WORKER_APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def mailed_but_not_recorded(sink):
    """Pending rows whose e-mail is already in the sink: messages in flight at a kill."""
    in_sink = message_ids(sink)
    return {
        notification.pk
        for notification in Notification.objects.filter(state=PENDING).only("idempotency_key")
        if delivery.message_id(notification) in in_sink
    }


def drain(worker, timeout=60):
    """Wait until the worker has run everything queued before now (tasks run in order, one at a time)."""
    token = uuid.uuid4().hex
    heartbeat.delay(token)
    wait_for(lambda: heartbeat_seen(token), timeout=timeout, interval=0.1, what=f"{worker.hostname} to drain its queue")


def let_leases_and_backoffs_pass():
    """The clock moves on (the test's way of not waiting five minutes): rows leased to a dead
    worker, or waiting for a retry, are due now."""
    return Notification.objects.filter(state=PENDING, next_attempt_at__gt=timezone.now()).update(
        next_attempt_at=timezone.now()
    )


def sweep_until_all_sent(worker, *, timeout):
    """The beat sweep's path, with the clock moved on before each run, until none is pending."""
    deadline = time.monotonic() + timeout
    sweeps = 0
    while Notification.objects.filter(state=PENDING).exists():
        assert time.monotonic() < deadline, "the sweep did not deliver every pending notification in time"
        let_leases_and_backoffs_pass()
        sweep_outbox.delay()
        sweeps += 1
        drain(worker, timeout=max(deadline - time.monotonic(), 1))
    return sweeps


def write_notifications(count, recipients, **fields):
    with transaction.atomic():  # the rows commit together; on_commit then signals the worker once
        for number in range(count):
            services.notify(
                recipient=recipients[number % len(recipients)],
                kind=fields.get("kind", "letter_supervision"),
                subject=fields.get("subject", "督办函 {number}").format(number=number),
                key=f"outbox-test:{number}",
            )
    return {delivery.message_id(n) for n in Notification.objects.filter(idempotency_key__startswith="outbox-test:")}


def assert_each_delivered_once_except_in_flight(sink, expected, in_flight, *, batch_size):
    """No loss; every Message-ID once, except messages in flight at a failure, at most a batch."""
    assert Notification.objects.filter(idempotency_key__startswith="outbox-test:", state=SENT).count() == len(expected)
    sent_ids = message_ids(sink)
    lost = expected - set(sent_ids)
    twice = {message for message, count in sent_ids.items() if count > 1}
    in_flight_ids = {delivery.message_id(n) for n in Notification.objects.filter(pk__in=in_flight)}
    print(
        f"lost: {len(lost)}, distinct Message-IDs: {len(set(sent_ids) & expected)}, e-mails written: "
        f"{sum(sent_ids.values())}, re-sent: {len(twice)} (in flight at the failures: {len(in_flight)}, "
        f"batch size {batch_size})"
    )
    assert lost == set(), "no message is lost"
    assert set(sent_ids) == expected, "exactly these messages, each with its own Message-ID"
    assert twice <= in_flight_ids, "a message is sent again only if it was in flight at a failure"
    assert len(twice) <= 2 * batch_size and max(sent_ids.values()) <= 2


BATCH = 50


@pytest.mark.django_db(transaction=True)
def test_500_notifications_survive_a_worker_killed_part_way(outbox_worker):
    started = time.monotonic()
    outbox_worker.send_delay = 0.01  # a mail server that answers a little after taking the message
    outbox_worker.environment = {"OUTBOX_BATCH_SIZE": str(BATCH)}
    recipients = [make_user(f"recipient{n}", email=f"recipient{n}@example.com") for n in range(10)]
    outbox_worker.start()
    expected = write_notifications(500, recipients)
    assert len(expected) == 500

    # Each kill is aimed at a batch half sent: e-mails written, their rows not yet recorded.
    in_flight = set()
    for threshold in (150, 300):
        wait_for(lambda t=threshold: sent_count() >= t, timeout=60, interval=0.005, what=f"{threshold} sent")
        wait_for(
            lambda known=frozenset(in_flight): len(mailed_but_not_recorded(outbox_worker.sink) - known) >= 5,
            timeout=10,
            interval=0.002,
            what="a batch half sent",
        )
        outbox_worker.kill()
        wait_for(lambda: other_sessions() == 0, timeout=10, what="PostgreSQL to drop the killed worker's session")
        new = mailed_but_not_recorded(outbox_worker.sink) - in_flight
        print(
            f"\nkilled worker {outbox_worker.started} at {sent_count()} recorded; mailed but not recorded: {len(new)}"
        )
        assert 0 < len(new) <= BATCH, "the kill fell inside a batch, which is all that can be in flight"
        in_flight |= new
        outbox_worker.start()
        sweep_outbox.delay()  # beat, within 30 s: the signal the dead worker held went with it

    sweeps = sweep_until_all_sent(outbox_worker, timeout=90)

    assert_each_delivered_once_except_in_flight(outbox_worker.sink, expected, in_flight, batch_size=BATCH)
    print(f"sweeps: {sweeps}, {time.monotonic() - started:.1f}s")


@pytest.mark.django_db(transaction=True)
def test_500_notifications_survive_the_workers_database_connections_terminated_mid_batch(outbox_worker):
    started = time.monotonic()
    outbox_worker.send_delay = 0.01
    outbox_worker.environment = {"OUTBOX_BATCH_SIZE": str(BATCH)}
    recipients = [make_user(f"recipient{n}", email=f"recipient{n}@example.com") for n in range(10)]
    outbox_worker.start()
    expected = write_notifications(500, recipients)

    terminated = 0
    for threshold in (150, 300):
        wait_for(lambda t=threshold: sent_count() >= t, timeout=60, interval=0.005, what=f"{threshold} sent")
        recorded = sent_count()
        wait_for(lambda r=recorded: sum(message_ids(outbox_worker.sink).values()) >= r + 5, timeout=10, interval=0.002)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                [WORKER_APPLICATION_NAME],
            )
            terminated += cursor.fetchone()[0]
        sweep_outbox.delay()  # beat, within 30 s: the run that lost its connection ended there
    drain(outbox_worker)
    in_flight = mailed_but_not_recorded(outbox_worker.sink)
    print(f"\nterminated {terminated} worker session(s); mailed but not recorded: {len(in_flight)}")
    assert terminated >= 2 and outbox_worker.process.poll() is None, "the worker lives on"

    sweeps = sweep_until_all_sent(outbox_worker, timeout=90)

    assert_each_delivered_once_except_in_flight(outbox_worker.sink, expected, in_flight, batch_size=BATCH)
    print(f"sweeps: {sweeps}, {time.monotonic() - started:.1f}s")


@pytest.mark.django_db(transaction=True)
def test_a_message_that_kills_its_worker_is_set_aside_and_the_others_are_delivered(outbox_worker, administrator):
    outbox_worker.pool = "prefork"  # the parent replaces a child that dies, as in production
    outbox_worker.environment = {"OUTBOX_TEST_POISON": "毒丸"}
    recipients = [make_user(f"recipient{n}", email=f"recipient{n}@example.com") for n in range(5)]
    outbox_worker.start()
    with transaction.atomic():
        for number in range(20):
            services.notify(
                recipient=recipients[number % 5], kind="letter_supervision", subject=f"督办函 {number}",
                key=f"outbox-test:{number}",
            )  # fmt: skip
        poison = services.notify(recipient=recipients[0], kind="letter_supervision", subject="毒丸", key="poison")

    rounds = 0
    while Notification.objects.filter(state=PENDING).exists():
        rounds += 1
        assert rounds <= 2 * delivery.POISON_LIMIT + 2, "the poison is retried a bounded number of times"
        drain(outbox_worker)
        let_leases_and_backoffs_pass()
        sweep_outbox.delay()
    drain(outbox_worker)

    poison.refresh_from_db()
    log = (outbox_worker.logs / "worker-1.log").read_text(errors="replace")
    deaths = log.count("exited with 'signal 9 (SIGKILL)'")
    print(f"\nthe poison killed {deaths} worker processes in {rounds} rounds; last error: {poison.last_error}")
    assert poison.state == FAILED and poison.crashes == delivery.POISON_LIMIT == deaths
    assert "stopped the worker 3 times" in poison.last_error
    others = Notification.objects.filter(idempotency_key__startswith="outbox-test:")
    assert set(others.values_list("state", flat=True)) == {SENT}
    assert set(message_ids(outbox_worker.sink)) >= {delivery.message_id(n) for n in others}
    assert delivery.message_id(poison) not in message_ids(outbox_worker.sink)
    assert Notification.objects.filter(recipient=administrator, kind="outbox_failed").exists()


@pytest.mark.django_db(transaction=True)
def test_a_meeting_closed_while_the_broker_is_down_is_announced_once_it_is_back(
    outbox_worker, year, department_a, staff_a, leadership
):
    started = time.monotonic()
    for number in range(20):
        make_user(f"colleague{number}", email=f"colleague{number}@example.com")
    make_user("retired", email="retired@example.com", is_active=False)
    stage = stage_of(year, 2)
    green = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化")
    confirm(green, stage, 92)
    meeting = open_meeting(stage, leadership, attendees=[leadership])
    rate(meeting, green, 92, leadership)
    # Commendations go in the daily digest by default; these people want them at once.
    Preference.objects.bulk_create(
        Preference(user=user, category=Category.COMMENDATIONS, mode=Mode.IMMEDIATE) for user in User.objects.all()
    )
    outbox_worker.start()

    with broker_unreachable():
        closing = time.monotonic()
        close(meeting, leadership)
        took = time.monotonic() - closing

    notifications = Notification.objects.filter(kind="commendation")
    everyone = set(User.objects.filter(is_active=True).values_list("pk", flat=True))
    assert set(notifications.values_list("recipient", flat=True)) == everyone and len(everyone) >= 23
    assert took < 3, f"closing waited {took:.1f}s for an unreachable broker"
    # Nothing reached the worker: the rows stay pending, the sink stays empty.
    drain(outbox_worker)
    assert set(notifications.values_list("state", flat=True)) == {PENDING}
    assert message_ids(outbox_worker.sink) == {}

    sweeps = sweep_until_all_sent(outbox_worker, timeout=45)
    sweep_outbox.delay()  # and one more beat run, which finds nothing to do
    drain(outbox_worker)

    assert set(notifications.values_list("state", flat=True)) == {SENT}
    assert all(n.attempts == 1 for n in notifications)
    sent_ids = message_ids(outbox_worker.sink)
    # Everyone has the notice in the inbox; those with an address (not the fixtures' cast) by e-mail too.
    mailed = {delivery.message_id(n): 1 for n in notifications.select_related("recipient") if n.recipient.email}
    assert len(mailed) == 20
    assert sent_ids == mailed, "each one delivered exactly once"
    print(
        f"\nclosed with the broker down in {took:.2f}s; {notifications.count()} notices pending, then delivered "
        f"once each by {sweeps} sweep(s) ({len(sent_ids)} e-mails); {time.monotonic() - started:.1f}s"
    )
