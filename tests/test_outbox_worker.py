"""The outbox: every message is a Notification row delivered by a worker that claims it first,
e-mailed with a Message-ID derived from its idempotency key, retried with backoff and left
`failed` with the error for administrators to see. The last two tests run a real Celery
worker on the real Redis and PostgreSQL: one is killed with SIGKILL part-way through 500
messages, the other finds the broker unreachable while a meeting closes."""

import datetime
import re
import smtplib
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from lightboard.celery import app as celery_app
from lightboard.tasks import heartbeat, heartbeat_seen
from outbox import delivery, services
from outbox.models import Notification
from outbox.tasks import broker_circuit, deliver_notification, sweep_outbox
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


def a_notification(recipient, key=None, **fields):
    fields.setdefault("kind", "reminder")
    fields.setdefault("subject", "提醒督促：请按期完成整改")
    return Notification.objects.create(recipient=recipient, idempotency_key=key or f"test:{uuid.uuid4().hex}", **fields)


@pytest.fixture
def outbox_worker(tmp_path, django_db_blocker):
    yield from outbox_worker_on_a_private_queue(tmp_path, django_db_blocker)


@pytest.fixture
def reader(db):
    return make_user("reader", email="reader@example.com")


# --- delivering one row -------------------------------------------------------------------


def test_a_subject_with_a_line_break_is_written_on_one_line_and_sent(reader, mailoutbox):
    """A task title from an Excel cell with Alt+Enter: the message must still go."""
    notification = services.notify(
        recipient=reader, kind="letter_supervision", subject="督办函：新产线\n投产\r\n（一期）", key="multiline"
    )
    assert notification.subject == "督办函：新产线 投产 （一期）"
    assert delivery.deliver(notification.pk) == "sent"
    assert mailoutbox[0].subject == "督办函：新产线 投产 （一期）"


def test_a_row_written_with_a_line_break_before_the_fix_is_sent_on_one_line(reader, mailoutbox):
    notification = a_notification(reader, subject="提醒督促：设备\n大修")
    assert delivery.deliver(notification.pk) == "sent"
    assert mailoutbox[0].subject == "提醒督促：设备 大修"


def test_deliver_sends_the_email_with_a_message_id_from_the_key_and_marks_it_sent(reader, mailoutbox):
    notification = a_notification(reader, key="letter:7:reader", body="正文", link="/reviews/letters/7/")

    assert delivery.deliver(notification.pk) == "sent"

    notification.refresh_from_db()
    assert notification.state == SENT and notification.attempts == 1 and notification.sent_at is not None
    assert notification.last_error == ""
    [mail] = mailoutbox
    assert mail.to == ["reader@example.com"] and mail.subject == notification.subject
    assert mail.extra_headers["Message-ID"] == delivery.message_id(notification)
    assert mail.message()["Message-ID"] == delivery.message_id(notification)
    assert "/reviews/letters/7/" in mail.body
    # The id depends on the key only: the same key always gives the same id, another key another.
    assert delivery.message_id(Notification(idempotency_key="letter:7:reader")) == delivery.message_id(notification)
    assert delivery.message_id(Notification(idempotency_key="letter:7:other")) != delivery.message_id(notification)
    assert re.fullmatch(
        rf"<[0-9a-f]{{32}}@{re.escape(settings.LIGHTBOARD_MAIL_DOMAIN)}>", mail.extra_headers["Message-ID"]
    )


def test_a_sent_row_is_not_sent_again(reader, mailoutbox):
    notification = a_notification(reader)
    assert delivery.deliver(notification.pk) == "sent"
    assert delivery.deliver(notification.pk) == "skipped"
    notification.refresh_from_db()
    assert notification.attempts == 1 and len(mailoutbox) == 1


def test_notify_with_the_same_key_twice_makes_one_row_and_queues_it_once(reader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = services.notify(recipient=reader, kind="reminder", subject="第一次", key="followup:1:reminder")
        second = services.notify(recipient=reader, kind="reminder", subject="第二次", key="followup:1:reminder")
    assert first.pk == second.pk
    assert Notification.objects.filter(idempotency_key="followup:1:reminder").count() == 1
    assert Notification.objects.get().subject == "第一次"
    assert len(callbacks) == 1


def test_a_user_without_email_gets_the_inbox_row_only(db, mailoutbox):
    no_email = make_user("no_email", email="")
    notification = a_notification(no_email)

    assert delivery.deliver(notification.pk) == "sent"

    notification.refresh_from_db()
    assert notification.state == SENT and notification.attempts == 1
    assert mailoutbox == []


@pytest.fixture
def mail_server_down(monkeypatch):
    def refuse(self, fail_silently=False):
        raise smtplib.SMTPConnectError(421, "mail.example.com: service not available")

    monkeypatch.setattr(EmailMessage, "send", refuse)


def make_due(notification):
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=timezone.now())


def test_a_failing_mail_server_means_a_retry_later_with_backoff(reader, mail_server_down):
    notification = a_notification(reader)
    before = timezone.now()

    assert delivery.deliver(notification.pk) == "retry"

    notification.refresh_from_db()
    assert notification.state == PENDING and notification.attempts == 1 and notification.sent_at is None
    assert "SMTPConnectError" in notification.last_error and "service not available" in notification.last_error
    assert before + delivery.backoff(1) <= notification.next_attempt_at <= timezone.now() + delivery.backoff(1)
    # Not due yet: nothing happens until the backoff is over.
    assert delivery.deliver(notification.pk) == "skipped"

    make_due(notification)
    assert delivery.deliver(notification.pk) == "retry"
    notification.refresh_from_db()
    assert notification.attempts == 2
    assert notification.next_attempt_at >= timezone.now() + delivery.backoff(2) - datetime.timedelta(seconds=5)
    assert delivery.backoff(2) > delivery.backoff(1)


def test_after_the_last_attempt_the_row_is_failed_with_the_error(reader, mail_server_down):
    notification = a_notification(reader)
    outcomes = []
    for _attempt in range(delivery.MAX_ATTEMPTS):
        make_due(notification)
        outcomes.append(delivery.deliver(notification.pk))

    assert outcomes == ["retry"] * (delivery.MAX_ATTEMPTS - 1) + ["failed"]
    notification.refresh_from_db()
    assert notification.state == FAILED and notification.attempts == delivery.MAX_ATTEMPTS
    assert "SMTPConnectError" in notification.last_error
    make_due(notification)
    assert delivery.deliver(notification.pk) == "skipped"
    assert notification.pk not in delivery.due_for_sweep()


def test_a_row_not_yet_due_is_skipped(reader, mailoutbox):
    notification = a_notification(reader, next_attempt_at=timezone.now() + datetime.timedelta(minutes=5))
    assert delivery.deliver(notification.pk) == "skipped"
    notification.refresh_from_db()
    assert notification.state == PENDING and notification.attempts == 0 and mailoutbox == []


def test_the_sweep_takes_pending_due_rows_older_than_a_minute(reader):
    young = a_notification(reader)
    stale = a_notification(reader)
    not_due = a_notification(reader, next_attempt_at=timezone.now() + datetime.timedelta(minutes=3))
    sent = a_notification(reader, state=SENT)
    failed = a_notification(reader, state=FAILED)
    now = timezone.now()
    Notification.objects.exclude(pk=young.pk).update(
        created_at=now - delivery.SWEEP_AFTER - datetime.timedelta(seconds=1)
    )

    assert delivery.due_for_sweep(now) == [stale.pk]
    assert young.pk not in delivery.due_for_sweep(now) and not_due.pk not in delivery.due_for_sweep(now)
    assert {sent.pk, failed.pk}.isdisjoint(delivery.due_for_sweep(now))
    # A minute later the young one is the sweep's too.
    assert sorted(delivery.due_for_sweep(now + delivery.SWEEP_AFTER)) == sorted([stale.pk, young.pk])


def test_administrators_see_failed_notifications_in_the_admin(client, administrator, reader, mail_server_down):
    notification = a_notification(reader, subject="约谈通知：应收账款清收")
    for _attempt in range(delivery.MAX_ATTEMPTS):
        make_due(notification)
        delivery.deliver(notification.pk)
    a_notification(reader, subject="已送达的提醒", state=SENT)
    client.force_login(administrator)

    page = client.get("/admin/outbox/notification/", {"state__exact": "failed"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "约谈通知：应收账款清收" in html and "service not available" in html
    assert "已送达的提醒" not in html
    # Read-only: rows are written by the services and the workers, never by hand.
    assert client.get("/admin/outbox/notification/add/").status_code == 403
    detail = client.get(f"/admin/outbox/notification/{notification.pk}/change/")
    assert detail.status_code == 200 and "SMTPConnectError" in detail.content.decode()
    assert client.post(f"/admin/outbox/notification/{notification.pk}/delete/").status_code == 403


def test_a_broker_failure_does_not_hold_up_the_commit_or_lose_rows(
    reader, monkeypatch, django_capture_on_commit_callbacks
):
    """One refused publish is enough: the other rows of the same commit are left to the sweep
    instead of each waiting for the broker again."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(deliver_notification, "delay", refuse)
    broker_circuit.reset()
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(5):
            services.notify(
                recipient=reader, kind="commendation", subject=f"表扬通报{number}", key=f"letter:1:{number}"
            )

    assert len(calls) == 1
    assert Notification.objects.filter(state=PENDING).count() == 5


# --- the Celery settings match the design -------------------------------------------------


def test_delivery_tasks_are_acknowledged_late_and_retried_a_bounded_number_of_times():
    for task in (deliver_notification, sweep_outbox):
        assert task.acks_late is True and task.reject_on_worker_lost is True
    assert deliver_notification.max_retries is not None and 0 <= deliver_notification.max_retries <= 5
    conf = celery_app.conf
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.beat_schedule["sweep-outbox"]["task"] == "outbox.tasks.sweep_outbox"
    assert conf.beat_schedule["sweep-outbox"]["schedule"] <= 60
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
    """Pending rows whose e-mail is already in the sink: the message in flight at a kill."""
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


def sweep_until_all_sent(worker, *, timeout):
    """The beat sweep's path: leftovers are made a minute old, then swept, until none is pending."""
    deadline = time.monotonic() + timeout
    sweeps = 0
    while Notification.objects.filter(state=PENDING).exists():
        assert time.monotonic() < deadline, "the sweep did not deliver every pending notification in time"
        Notification.objects.filter(state=PENDING).update(created_at=F("created_at") - delivery.SWEEP_AFTER)
        sweep_outbox.delay()
        sweeps += 1
        drain(worker, timeout=max(deadline - time.monotonic(), 1))
    return sweeps


@pytest.mark.django_db(transaction=True)
def test_500_notifications_survive_a_worker_killed_part_way(outbox_worker):
    started = time.monotonic()
    outbox_worker.send_delay = 0.01  # a mail server that answers a little after taking the message
    recipients = [make_user(f"recipient{n}", email=f"recipient{n}@example.com") for n in range(10)]
    outbox_worker.start()
    with transaction.atomic():  # the rows commit together; on_commit then queues 500 tasks
        for number in range(500):
            services.notify(
                recipient=recipients[number % 10],
                kind="reminder",
                subject=f"提醒督促 {number}",
                key=f"outbox-test:{number}",
            )
    expected = {delivery.message_id(n) for n in Notification.objects.only("idempotency_key")}
    assert len(expected) == 500

    # The first kill is aimed at the moment a message is mailed but not yet recorded (the one
    # way to deliver a message twice); the second falls wherever the worker happens to be.
    in_flight_at_kill = []
    for threshold, aimed in ((150, True), (300, False)):
        wait_for(lambda t=threshold: sent_count() >= t, timeout=30, interval=0.005, what=f"{threshold} sent")
        if aimed:
            deadline = time.monotonic() + 5
            while sum(message_ids(outbox_worker.sink).values()) <= sent_count() and time.monotonic() < deadline:
                pass
        outbox_worker.kill()
        wait_for(lambda: other_sessions() == 0, timeout=10, what="PostgreSQL to drop the killed worker's session")
        in_flight = mailed_but_not_recorded(outbox_worker.sink).difference(*in_flight_at_kill)  # new at this kill
        print(
            f"\nkilled worker {outbox_worker.started} ({'aimed' if aimed else 'blind'}) at {sent_count()} sent "
            f"after {time.monotonic() - started:.1f}s; mailed but not recorded: {len(in_flight)}"
        )
        assert len(in_flight) <= 1, "a solo worker has at most one message in flight"
        in_flight_at_kill.append(in_flight)
        outbox_worker.start()

    # The restarted worker runs what is still queued; the message each killed worker held is
    # unacknowledged and would come back only after the visibility timeout.
    drain(outbox_worker)
    left_over = set(Notification.objects.filter(state=PENDING).values_list("pk", flat=True))
    print(f"left pending after the queue drained: {len(left_over)}")
    assert len(left_over) <= 2, "only a message in flight at a kill is left pending"
    assert set().union(*in_flight_at_kill) <= left_over

    sweeps = sweep_until_all_sent(outbox_worker, timeout=60)

    assert Notification.objects.filter(state=SENT).count() == 500
    sent_ids = message_ids(outbox_worker.sink)
    assert set(sent_ids) == expected, "exactly the 500 messages, each with its own Message-ID"
    twice = {message for message, count in sent_ids.items() if count > 1}
    in_flight_ids = {
        delivery.message_id(n) for n in Notification.objects.filter(pk__in=set().union(*in_flight_at_kill))
    }
    print(
        f"e-mails written: {sum(sent_ids.values())}, distinct Message-IDs: {len(sent_ids)}, "
        f"delivered twice: {len(twice)} (in flight at the kills: {sum(map(len, in_flight_at_kill))}), "
        f"sweeps: {sweeps}, {time.monotonic() - started:.1f}s"
    )
    assert twice == in_flight_ids, "a message is delivered twice only if it was in flight at a kill"
    assert max(sent_ids.values()) <= 2


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
