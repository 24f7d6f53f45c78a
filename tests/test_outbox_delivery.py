"""Delivering the outbox through a real SMTP server (aiosmtpd on a loopback port): rows are
claimed in batches, sent over one connection with a Message-ID derived from the idempotency
key, recorded sent, or retried with a backoff capped at 30 minutes until the retry time is over
(then failed, shown to administrators, and re-queueable). The clock is moved, not waited for."""

import datetime
import re
import time
import uuid

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.db.models import F

from outbox import delivery, kinds, services
from outbox.models import Notification
from tests.conftest import make_user

PENDING, SENT, FAILED = Notification.State.PENDING, Notification.State.SENT, Notification.State.FAILED


def a_notification(recipient, key=None, **fields):
    fields.setdefault("kind", "letter_supervision")
    fields.setdefault("subject", "督办函：请按期完成整改")
    return Notification.objects.create(recipient=recipient, idempotency_key=key or f"test:{uuid.uuid4().hex}", **fields)


@pytest.fixture
def reader(db):
    return make_user("reader", email="reader@example.com")


def reload(notification):
    notification.refresh_from_db()
    return notification


# --- one batch, one connection ---------------------------------------------------------------


def test_a_message_goes_through_the_mail_server_with_its_message_id(reader, mail_server):
    notification = a_notification(reader, key="letter:7:reader", body="正文", link="/reviews/letters/7/")

    assert delivery.deliver_due()["sent"] == 1

    notification = reload(notification)
    assert notification.state == SENT and notification.attempts == 1 and notification.sent_at is not None
    assert notification.claimed_at is None and notification.last_error == ""
    [mail] = mail_server.received
    assert mail["To"] == "reader@example.com"
    assert mail["Message-ID"] == delivery.message_id(notification)
    assert re.fullmatch(rf"<[0-9a-f]{{32}}@{re.escape(settings.LIGHTBOARD_MAIL_DOMAIN)}>", mail["Message-ID"])
    assert "/reviews/letters/7/" in mail.get_payload(decode=True).decode()
    # The id depends on the key only.
    assert delivery.message_id(Notification(idempotency_key="letter:7:reader")) == mail["Message-ID"]
    assert delivery.message_id(Notification(idempotency_key="letter:7:other")) != mail["Message-ID"]


def test_a_subject_with_a_line_break_is_sent_on_one_line(reader, mail_server):
    services.notify(recipient=reader, kind="letter_supervision", subject="督办函：新产线\n投产\r\n（一期）", key="ml")
    a_notification(reader, subject="提醒督促：设备\n大修")  # a row written before subjects were cleaned

    delivery.deliver_due()

    assert sorted(mail["Subject"] for mail in mail_server.received) == [
        "提醒督促：设备 大修",
        "督办函：新产线 投产 （一期）",
    ]


def test_a_batch_goes_over_one_connection_and_nothing_is_sent_twice(reader, mail_server, settings, monkeypatch):
    settings.OUTBOX_BATCH_SIZE = 10
    opened = []
    from django.core.mail.backends.smtp import EmailBackend

    original_open = EmailBackend.open

    def counting_open(self):
        created = original_open(self)
        opened.append(created)
        return created

    monkeypatch.setattr(EmailBackend, "open", counting_open)
    rows = [a_notification(reader) for _ in range(25)]

    totals = delivery.deliver_due()

    assert totals["sent"] == 25
    assert opened.count(True) == 3, "25 messages in batches of 10: three connections"
    assert len(mail_server.received) == 25 and len(set(mail_server.message_ids())) == 25
    assert delivery.deliver_due()["sent"] == 0
    assert all(reload(row).attempts == 1 for row in rows) and len(mail_server.received) == 25


def test_a_user_without_email_gets_the_inbox_row_only(db, mail_server):
    notification = a_notification(make_user("no_email", email=""))
    delivery.deliver_due()
    assert reload(notification).state == SENT and mail_server.received == []


def test_a_row_not_yet_due_waits(reader, mail_server, clock):
    notification = a_notification(reader, next_attempt_at=clock.now + datetime.timedelta(minutes=5))
    assert delivery.deliver_due()["sent"] == 0
    assert reload(notification).attempts == 0 and mail_server.received == []
    clock.advance(minutes=5)
    assert delivery.deliver_due()["sent"] == 1


def test_a_deferred_message_is_retried_and_the_rest_of_its_batch_goes_over_the_same_connection(reader, mail_server):
    deferred = a_notification(reader, subject="暂缓：设备大修")
    others = [a_notification(reader, subject=f"督办函 {n}") for n in range(3)]
    mail_server.behave("defer", subject="暂缓")

    totals = delivery.deliver_due()  # one batch: the first message answers 451, the others 250

    deferred = reload(deferred)
    assert totals["retry"] == 1 and totals["sent"] == 3
    assert deferred.state == PENDING and deferred.attempts == 1 and "451" in deferred.last_error
    assert all(reload(row).state == SENT for row in others) and len(mail_server.received) == 3


def test_a_message_the_server_refuses_for_good_fails_at_once_and_administrators_hear_of_it(
    reader, administrator, mail_server
):
    refused = a_notification(reader, subject="拒收：应收账款")
    others = [a_notification(reader, subject=f"督办函 {n}") for n in range(3)]
    mail_server.behave("refuse", subject="拒收")

    totals = delivery.deliver_due()

    refused = reload(refused)
    assert totals["failed"] == 1 and refused.state == FAILED and "550" in refused.last_error
    assert all(reload(row).state == SENT for row in others) and len(mail_server.received) == 3
    assert Notification.objects.filter(recipient=administrator, kind=kinds.DELIVERY_FAILED).exists()


def test_a_hanging_mail_server_costs_one_timeout_per_batch_and_nothing_is_set_aside(
    reader, mail_server, clock, settings
):
    settings.EMAIL_TIMEOUT = 1
    rows = [a_notification(reader) for _ in range(5)]
    mail_server.hang()
    started = time.monotonic()

    delivery.deliver_due()

    took = time.monotonic() - started
    assert took < 2 * settings.EMAIL_TIMEOUT + 1, f"one timeout for the batch, not one per message ({took:.1f}s)"
    for row in rows:
        row = reload(row)
        assert row.state == PENDING and row.attempts == 1 and row.crashes == 0 and row.claimed_at is None
        assert "timed out" in row.last_error
    mail_server.start()
    clock.set(reload(rows[0]).next_attempt_at)
    delivery.deliver_due()
    assert {reload(row).state for row in rows} == {SENT} and len(mail_server.received) == 5


def test_a_batch_that_runs_out_of_time_returns_the_rest_untried(reader, mail_server, monkeypatch):
    monkeypatch.setattr(delivery, "BATCH_SECONDS", 0)  # each batch sends one message, then stops
    rows = [a_notification(reader) for _ in range(4)]

    delivery.deliver_due()

    assert {reload(row).state for row in rows} == {SENT} and len(mail_server.received) == 4
    assert {reload(row).attempts for row in rows} == {1}, "a message returned untried does not count an attempt"


def test_a_connection_dropped_mid_message_is_retried_with_the_same_message_id(reader, mail_server, clock):
    notification = a_notification(reader)
    mail_server.behave("drop")

    delivery.deliver_due()

    notification = reload(notification)
    assert notification.state == PENDING and notification.attempts == 1
    assert "SMTPServerDisconnected" in notification.last_error or "Connection" in notification.last_error
    mail_server.behave("accept")
    clock.set(notification.next_attempt_at)
    delivery.deliver_due()
    assert reload(notification).state == SENT
    assert mail_server.message_ids() == [delivery.message_id(notification)]


# --- outages: retried until the retry time is over --------------------------------------------


def run_until(clock, notification, moment):
    """Deliver at each due time of the row until `moment` (the beat sweep's part). Returns the
    times of the attempts."""
    attempts = []
    while True:
        notification = reload(notification)
        if notification.state != PENDING or notification.next_attempt_at > moment:
            return attempts
        clock.set(notification.next_attempt_at)
        attempts.append(clock.now)
        delivery.deliver_due()


def test_a_two_hour_outage_ends_in_delivery_once_the_server_is_back(reader, mail_server, clock):
    """The old schedule (five attempts, 1-2-4-8 minutes apart) gave up after about 15 minutes."""
    mail_server.stop()
    started = clock.now
    notification = a_notification(reader, subject="约谈通知：应收账款清收")

    attempts = run_until(clock, notification, started + datetime.timedelta(hours=2))

    gaps = [round((b - a).total_seconds() / 60) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[:6] == [1, 2, 4, 8, 16, 30] and set(gaps[5:]) == {30}, gaps
    notification = reload(notification)
    assert notification.state == PENDING and "Connection refused" in notification.last_error

    mail_server.start()
    run_until(clock, notification, clock.now + datetime.timedelta(hours=1))

    notification = reload(notification)
    assert notification.state == SENT
    assert mail_server.message_ids() == [delivery.message_id(notification)]
    print(f"\n{len(attempts)} attempts in two hours of outage, then delivered at attempt {notification.attempts}")


def test_past_the_retry_time_a_message_fails_is_shown_to_administrators_and_requeued(
    reader, administrator, mail_server, clock, client, settings
):
    settings.OUTBOX_GIVE_UP_HOURS = 72
    mail_server.stop()
    notification = a_notification(reader, subject="督办函：应收账款清收")
    written = notification.created_at

    attempts = run_until(clock, notification, written + datetime.timedelta(days=4))

    notification = reload(notification)
    assert notification.state == FAILED
    last_attempt_after = attempts[-1] - written
    assert abs(last_attempt_after - datetime.timedelta(hours=72)) < datetime.timedelta(seconds=1), (
        "the last attempt is at the end of the retry time"
    )
    assert 140 <= len(attempts) <= 150, len(attempts)
    # Administrators have a notice in the inbox, pointing at the failed rows in the admin.
    notice = Notification.objects.get(recipient=administrator, kind=kinds.DELIVERY_FAILED)
    assert "state__exact=failed" in notice.link

    client.force_login(administrator)
    page = client.get("/admin/outbox/notification/", {"attention": "failed"})
    html = page.content.decode()
    assert page.status_code == 200 and "督办函：应收账款清收" in html and "Connection refused" in html
    assert "督办文书与约谈通知 (letter_supervision)" in html  # the kind as a person reads it
    assert "/admin/outbox/notification/requeue-failed/" in html and "requeue_selected" in html

    mail_server.start()
    response = client.post(
        "/admin/outbox/notification/",
        {"action": "requeue_selected", "_selected_action": [notification.pk]},
        follow=True,
    )
    assert response.status_code == 200
    notification = reload(notification)
    assert notification.state == PENDING and notification.retry_until > clock.now + datetime.timedelta(hours=71)
    assert notification.attempts == 0, "a re-queued message starts its backoff again at a minute"
    assert LogEntry.objects.filter(object_id=str(notification.pk), change_message="Re-queued").exists()

    delivery.deliver_due()

    assert reload(notification).state == SENT
    assert delivery.message_id(notification) in mail_server.message_ids()


def test_all_failed_messages_are_requeued_from_the_button(reader, administrator, client, mail_server):
    failed = [a_notification(reader, state=FAILED, last_error="SMTPConnectError") for _ in range(3)]
    sent = a_notification(reader, state=SENT)
    client.force_login(administrator)
    page = client.get("/admin/outbox/notification/").content.decode()
    assert "/admin/outbox/notification/requeue-failed/" in page

    client.post("/admin/outbox/notification/requeue-failed/")

    assert {reload(row).state for row in failed} == {PENDING} and reload(sent).state == SENT
    assert client.get("/admin/outbox/notification/requeue-failed/").status_code == 405
    delivery.deliver_due()
    assert len(mail_server.received) == 3


def test_the_outbox_admin_stays_read_only(reader, administrator, client):
    notification = a_notification(reader)
    client.force_login(administrator)
    assert client.get("/admin/outbox/notification/add/").status_code == 403
    assert client.post(f"/admin/outbox/notification/{notification.pk}/delete/").status_code == 403


def test_people_who_are_not_administrators_cannot_requeue(reader, client, staff_a):
    notification = a_notification(reader, state=FAILED)
    client.force_login(staff_a)
    response = client.post("/admin/outbox/notification/requeue-failed/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert reload(notification).state == FAILED


def test_admin_staff_who_may_look_at_the_outbox_may_not_requeue(reader, client):
    from django.contrib.auth.models import Permission

    clerk = make_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_notification"))
    notification = a_notification(reader, state=FAILED, last_error="SMTPConnectError")
    client.force_login(clerk)

    page = client.get("/admin/outbox/notification/")
    assert page.status_code == 200 and "SMTPConnectError" in page.content.decode()
    assert "requeue" not in page.content.decode()
    assert client.post("/admin/outbox/notification/requeue-failed/").status_code == 403
    client.post("/admin/outbox/notification/", {"action": "requeue_selected", "_selected_action": [notification.pk]})
    assert reload(notification).state == FAILED


def test_a_message_a_worker_is_sending_right_now_is_not_requeued(reader, mail_server):
    notification = a_notification(reader)
    batch = delivery.claim()  # a live worker holds it

    assert services.requeue(notifications=Notification.objects.all()) == []

    delivery.record(batch, delivery.send(batch.rows)[0])
    assert reload(notification).state == SENT and len(mail_server.received) == 1


# --- claims: a dead worker's rows come back; a poison message is set aside -----------------------


def die_after_claiming(batch_size=None):
    """A worker that claimed a batch and died before recording it."""
    return delivery.claim(batch_size)


def test_a_dead_workers_rows_come_back_after_the_lease_and_are_sent_once_more(reader, mail_server, clock):
    rows = [a_notification(reader) for _ in range(3)]
    batch = die_after_claiming()
    assert len(batch.rows) == 3
    assert delivery.deliver_due()["sent"] == 0, "leased to the dead worker"

    clock.advance(seconds=delivery.LEASE.total_seconds())
    delivery.deliver_due()

    assert {reload(row).state for row in rows} == {SENT}
    assert all(reload(row).crashes == 1 and reload(row).attempts == 2 for row in rows)
    assert len(mail_server.received) == 3


def test_a_worker_that_outlived_its_lease_does_not_overwrite_the_new_claim(reader, mail_server, clock):
    notification = a_notification(reader)
    slow = delivery.claim()
    clock.advance(seconds=delivery.LEASE.total_seconds() + 1)
    fresh = delivery.claim()
    assert [row.pk for row in fresh.rows] == [notification.pk]

    written = delivery.record(slow, {notification.pk: delivery.Result(delivery.RETRY, "SMTPServerDisconnected: late")})

    notification = reload(notification)
    assert notification.claim_token == fresh.token and notification.last_error == ""
    assert written["retry"] == 0, "nothing was written for the slow worker"
    delivery.record(fresh, delivery.send(fresh.rows)[0])
    assert reload(notification).state == SENT


def run_a_worker_that_dies_on(poison):
    """A worker like deliver_due, except that sending `poison` kills it: nothing recorded."""
    while True:
        batch = delivery.claim()
        if not batch.rows and not batch.poisoned:
            return "idle"
        if poison.pk in {row.pk for row in batch.rows}:
            return "died"
        delivery.record(batch, delivery.send(batch.rows)[0])


def test_a_message_that_keeps_killing_its_worker_is_set_aside_and_the_others_go(
    reader, administrator, mail_server, clock
):
    poison = a_notification(reader, subject="毒丸")
    others = [a_notification(reader) for _ in range(4)]
    deaths = 0
    while run_a_worker_that_dies_on(poison) == "died":
        deaths += 1
        assert deaths <= delivery.POISON_LIMIT, "the poison must be set aside, not retried for ever"
        clock.advance(seconds=delivery.LEASE.total_seconds())

    poison = reload(poison)
    assert deaths == delivery.POISON_LIMIT and poison.state == FAILED
    assert poison.crashes == delivery.POISON_LIMIT and "stopped the worker 3 times" in poison.last_error
    assert {reload(row).state for row in others} == {SENT}, "after a death, suspects are claimed one at a time"
    assert delivery.message_id(poison) not in mail_server.message_ids() and len(mail_server.received) == 4
    assert Notification.objects.filter(recipient=administrator, kind=kinds.DELIVERY_FAILED).exists()


# --- the in-app copy and the queueing ----------------------------------------------------------


def test_notify_with_the_same_key_twice_makes_one_row(reader):
    first = services.notify(recipient=reader, kind="letter_reminder", subject="第一次", key="followup:1")
    second = services.notify(recipient=reader, kind="letter_reminder", subject="第二次", key="followup:1")
    assert first.pk == second.pk and Notification.objects.get().subject == "第一次"


def test_one_transaction_signals_the_workers_once_however_many_messages_it_writes(
    reader, django_capture_on_commit_callbacks
):
    other = make_user("other", email="other@example.com")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify(recipient=reader, kind="letter_reminder", subject="一", key="a")
        services.notify(recipient=reader, kind="letter_supervision", subject="二", key="b")
        services.notify_many(
            recipients=[reader, other], kind="letter_interview", subject="三", key=lambda u: f"c{u.pk}"
        )
    assert Notification.objects.count() == 4
    assert len(callbacks) == 1


def test_a_message_only_for_the_digest_does_not_signal_the_workers(reader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify(recipient=reader, kind="reminder_self_assessment", subject="自评即将到期", key="r")
    assert callbacks == []


def test_rows_swept_late_are_the_same_rows_not_copies(reader, mail_server):
    notification = a_notification(reader)
    Notification.objects.update(created_at=F("created_at") - datetime.timedelta(hours=1))
    delivery.deliver_due()
    delivery.deliver_due()
    assert Notification.objects.count() == 1 and reload(notification).state == SENT
    assert len(mail_server.received) == 1


def test_a_backlog_longer_than_one_run_is_delivered_run_after_run(reader, mail_server, monkeypatch):
    from outbox import tasks

    monkeypatch.setattr(tasks, "RUN_SECONDS", 0)  # every run stops after one batch
    monkeypatch.setattr(delivery.settings, "OUTBOX_BATCH_SIZE", 10)
    chained = []

    def run_the_next_one_here(*args, **kwargs):  # what a worker does with the queued run
        chained.append(kwargs.get("queue"))
        return tasks.deliver_outbox.apply()

    monkeypatch.setattr(tasks.deliver_outbox, "apply_async", run_the_next_one_here)
    monkeypatch.setattr(tasks.deliver_outbox, "delay", run_the_next_one_here)
    for _ in range(35):
        a_notification(reader)

    tasks.sweep_outbox.apply()

    assert Notification.objects.filter(state=SENT).count() == 35 and len(mail_server.received) == 35
    assert len(chained) == 4, "four runs of ten, each queueing the next; the fifth finds nothing"
