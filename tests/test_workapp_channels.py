"""WeCom and DingTalk as outbox channels, against a local server that answers as the two services
do (tests/fake_workapps.py): each app message is a delivery of its own beside the e-mail and the
inbox row, with the e-mail's claims, backoff, retry time and poison rule. Across an expired
token, a rate-limit answer and a worker killed mid-send (a real Celery worker, on PostgreSQL and
Redis) each message is shown once; the server's log shows one send per message, and a second,
identical one only for the message in flight when its worker died, which the service's
duplicate rule does not show again."""

import datetime
import time
from collections import Counter
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lightboard.roles import Role
from outbox import delivery, kinds, services
from outbox.models import ChannelDelivery, Notification
from outbox.tasks import sweep_outbox
from tests.conftest import make_user
from tests.fake_workapps import fake_workapps_server_fixture, workapps_fixture  # noqa: F401 - fixtures
from tests.outbox_fixtures import message_ids, outbox_worker_on_a_private_queue, wait_for

PENDING, SENT, FAILED = "pending", "sent", "failed"


def person(username, *, wecom=True, dingtalk=True, **fields):
    return make_user(
        username,
        email=f"{username}@example.com",
        wecom_userid=f"wx-{username}" if wecom else "",
        dingtalk_userid=f"dd-{username}" if dingtalk else "",
        **fields,
    )


def notify(recipient, number, **fields):
    fields.setdefault("kind", "letter_supervision")
    fields.setdefault("subject", f"督办函 {number}")
    fields.setdefault("link", f"/reviews/followups/{number}/")
    return services.notify(recipient=recipient, key=f"channel-test:{number}", **fields)


def deliveries(channel=None):
    rows = ChannelDelivery.objects.select_related("notification")
    return rows.filter(channel=channel) if channel else rows


def titles(sends):
    """How many times each message appears in the server's log, by its title."""
    return Counter(
        send["body"]["textcard"]["title"] if send["channel"] == "wecom" else send["body"]["msg"]["action_card"]["title"]
        for send in sends
    )


@pytest.fixture
def reader(db, workapps):
    workapps.add_users(wecom=["wx-reader"], dingtalk=["dd-reader"])
    return person("reader")


def test_a_message_goes_out_by_email_wecom_and_dingtalk_once_each_and_the_inbox_has_one_row(
    reader, workapps, mail_server
):
    notification = notify(reader, 1, body="请于三日内报送整改方案。")

    assert set(deliveries().values_list("channel", "state")) == {("wecom", PENDING), ("dingtalk", PENDING)}
    totals = delivery.deliver_due()

    assert totals["sent"] == 3 and delivery.deliver_due()["sent"] == 0
    assert Notification.objects.filter(recipient=reader).count() == 1, "the inbox keeps one row per message"
    assert mail_server.message_ids() == [delivery.message_id(notification)]
    [card] = workapps.shown("wecom")
    [note] = workapps.shown("dingtalk")
    next_page = quote("/reviews/followups/1/", safe="")

    def entry(channel):
        return f"{settings.SITE_URL}/accounts/workapps/{channel}/start/?next={next_page}"

    assert card["body"]["touser"] == "wx-reader" and card["body"]["agentid"] == workapps.wecom_agent_id
    assert card["body"]["msgtype"] == "textcard" and card["body"]["enable_duplicate_check"] == 1
    assert card["body"]["textcard"]["title"] == "督办函 1"
    assert card["body"]["textcard"]["description"] == "请于三日内报送整改方案。"
    assert card["body"]["textcard"]["url"] == entry("wecom"), "the button signs the person in inside the app"
    assert note["body"]["userid_list"] == "dd-reader" and note["body"]["agent_id"] == workapps.dingtalk_agent_id
    assert note["body"]["msg"]["msgtype"] == "action_card"
    assert note["body"]["msg"]["action_card"]["single_url"] == entry("dingtalk")
    assert "请于三日内报送整改方案。" in note["body"]["msg"]["action_card"]["markdown"]
    for row in deliveries():
        assert row.state == SENT and row.attempts == 1 and row.sent_at and row.claimed_at is None
    assert len(workapps.sent()) == 2, "one request per message and app"


def test_without_app_sign_in_the_button_opens_the_page_itself(reader, workapps, settings):
    settings.WORKAPPS_SIGNIN = False
    notify(reader, 2)
    delivery.deliver_due()
    [card] = workapps.shown("wecom")
    assert card["body"]["textcard"]["url"] == f"{settings.SITE_URL}/reviews/followups/2/"


def test_an_expired_token_is_replaced_once_and_the_message_sent_once(reader, workapps, mail_server):
    notify(reader, 1)
    delivery.deliver_due()
    assert workapps.issued == {"wecom": 1, "dingtalk": 1}
    workapps.expire_tokens()

    notify(reader, 2)
    notify(reader, 3)
    delivery.deliver_due()

    assert workapps.issued == {"wecom": 2, "dingtalk": 2}, "one new token per app, kept for the next message"
    assert titles(workapps.shown()) == {"督办函 1": 2, "督办函 2": 2, "督办函 3": 2}, "each once per app"
    assert len(workapps.sent()) == 6, "the service refused the expired token; nothing else was sent twice"
    assert set(deliveries().values_list("state", "attempts")) == {(SENT, 1)}


def test_a_rate_limit_ends_that_apps_batch_and_its_messages_come_back_later_without_an_attempt_counted(
    reader, workapps, mail_server, clock
):
    for number in range(3):
        notify(reader, number)
    workapps.rate_limit("wecom")

    totals = delivery.deliver_due()

    assert totals["throttled"] == 3
    assert [send["errcode"] for send in workapps.sent("wecom")] == [45009], "the batch stopped at the refusal"
    for row in deliveries("wecom"):
        assert row.state == PENDING and row.attempts == 0 and "45009" in row.last_error
        assert row.next_attempt_at >= clock.now + delivery.THROTTLE_WAIT - datetime.timedelta(seconds=5)
    assert set(deliveries("dingtalk").values_list("state", flat=True)) == {SENT}, "the other app is not held up"
    assert len(mail_server.received) == 3, "nor is the e-mail"

    assert delivery.deliver_due()["sent"] == 0, "not before the wait is over"
    clock.advance(minutes=1)
    delivery.deliver_due()

    assert set(deliveries("wecom").values_list("state", "attempts")) == {(SENT, 1)}
    assert titles(workapps.shown("wecom")) == {"督办函 0": 1, "督办函 1": 1, "督办函 2": 1}


def test_an_unknown_user_fails_that_delivery_only_and_administrators_hear_of_it(
    reader, workapps, mail_server, administrator, client
):
    stranger = person("stranger")  # has ids, but neither app knows them
    workapps.add_users(dingtalk=["dd-stranger"])
    notify(stranger, 1, subject="约谈通知")
    notify(reader, 2)

    delivery.deliver_due()

    failed = deliveries("wecom").get(notification__recipient=stranger)
    assert failed.state == FAILED and "81013" in failed.last_error
    others = deliveries().exclude(pk=failed.pk)
    assert set(others.values_list("state", flat=True)) == {SENT}
    assert len(mail_server.received) == 2 and set(Notification.objects.values_list("state", flat=True)) >= {SENT}
    notice = Notification.objects.get(recipient=administrator, kind=kinds.DELIVERY_FAILED)
    assert notice.link == "/admin/outbox/channeldelivery/?state__exact=failed"

    client.force_login(administrator)
    page = client.get(notice.link).content.decode()
    assert "约谈通知" in page and "81013" in page and "requeue_selected" in page
    workapps.add_users(wecom=["wx-stranger"])  # the app's administrator adds the person
    client.post(notice.link, {"action": "requeue_selected", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.state == PENDING and failed.attempts == 0
    delivery.deliver_due()
    failed.refresh_from_db()
    assert failed.state == SENT and titles(workapps.shown("wecom"))["约谈通知"] == 1


def test_the_deliveries_admin_is_read_only_and_only_administrators_requeue(reader, workapps, client):
    notify(reader, 1)
    row = deliveries("wecom").get()
    ChannelDelivery.objects.filter(pk=row.pk).update(state=FAILED, last_error="errcode 60111: userid not found")
    clerk = make_user("clerk", is_staff=True)
    from django.contrib.auth.models import Permission

    clerk.user_permissions.add(Permission.objects.get(codename="view_channeldelivery"))
    client.force_login(clerk)
    page = client.get("/admin/outbox/channeldelivery/")
    assert page.status_code == 200 and "60111" in page.content.decode() and "requeue" not in page.content.decode()
    client.post("/admin/outbox/channeldelivery/", {"action": "requeue_selected", "_selected_action": [row.pk]})
    assert client.get("/admin/outbox/channeldelivery/add/").status_code == 403
    row.refresh_from_db()
    assert row.state == FAILED


def test_no_app_configured_means_no_channel_rows_and_email_and_inbox_as_before(reader, settings, mail_server):
    settings.WECOM_CORP_ID = settings.DINGTALK_APP_KEY = ""
    notification = notify(reader, 1)
    delivery.deliver_due()
    assert ChannelDelivery.objects.count() == 0
    assert mail_server.message_ids() == [delivery.message_id(notification)]


def test_only_people_with_an_app_id_and_messages_that_go_at_once_get_app_deliveries(reader, workapps):
    only_wecom = person("only_wecom", dingtalk=False)
    nobody = person("no_ids", wecom=False, dingtalk=False)
    notify(only_wecom, 1)
    notify(nobody, 2)
    notify(reader, 3, kind="reminder_self_assessment")  # held for the daily digest by default
    assert list(deliveries().values_list("notification__recipient__username", "channel")) == [("only_wecom", "wecom")]


def test_the_daily_digest_goes_to_the_apps_once(reader, workapps, clock):
    from outbox import digests

    notify(reader, 1, kind="reminder_self_assessment")
    moment = timezone.localtime(clock.now).replace(hour=settings.DIGEST_HOUR, minute=5)
    clock.set(moment + datetime.timedelta(days=1))
    assert digests.send_daily_digests(clock.now) == 1
    assert digests.send_daily_digests(clock.now) == 0
    assert set(deliveries().values_list("notification__kind", flat=True)) == {kinds.DIGEST}
    delivery.deliver_due()
    assert len(workapps.shown()) == 2


# --- a real worker, killed mid-send ---------------------------------------------------------------


@pytest.fixture
def outbox_worker(tmp_path, django_db_blocker):
    yield from outbox_worker_on_a_private_queue(tmp_path, django_db_blocker)


def due_now():
    """The clock moves on: leases of dead workers and waits after a rate limit are over."""
    now = timezone.now()
    ChannelDelivery.objects.filter(state=PENDING, next_attempt_at__gt=now).update(next_attempt_at=now)
    Notification.objects.filter(state=PENDING, next_attempt_at__gt=now).update(next_attempt_at=now)


def sweep():
    due_now()
    sweep_outbox.delay()


def kill_during_the_held_send(worker, workapps, channel):
    """Wait until the worker is inside a send the server has taken, kill it, let the server go."""
    assert workapps.held.wait(timeout=30), f"the worker did not reach a {channel} send"
    worker.kill()
    workapps.release()
    in_flight = workapps.sent(channel)[-1]
    return in_flight["body"]


@pytest.mark.django_db(transaction=True)
def test_each_app_message_is_shown_once_across_a_rate_limit_an_expired_token_and_a_worker_killed_mid_send(
    workapps, outbox_worker
):
    started = time.monotonic()
    people = [person(f"p{n}") for n in range(3)]
    workapps.add_users(wecom=[f"wx-p{n}" for n in range(3)], dingtalk=[f"dd-p{n}" for n in range(3)])
    outbox_worker.environment = {**workapps.environment(), "OUTBOX_BATCH_SIZE": "10"}
    outbox_worker.start()
    workapps.rate_limit("wecom")
    workapps.rate_limit("dingtalk")
    with transaction.atomic():
        written = [notify(people[n % 3], n) for n in range(6)]
    expected = {n.subject for n in written}

    # Run 1: e-mails go; each app answers its first send with its rate-limit code.
    wait_for(
        lambda: ChannelDelivery.objects.filter(state=PENDING, attempts=0).exclude(last_error="").count() == 12,
        timeout=30,
        what="both apps' rows to come back after the rate limit",
    )
    assert [s["errcode"] for s in workapps.sent()] == [45009, 90018]

    # Run 2: WeCom takes a card and the worker dies before hearing back.
    workapps.hold("wecom")
    sweep()
    wecom_in_flight = kill_during_the_held_send(outbox_worker, workapps, "wecom")

    # Both apps' tokens expire; a new worker (the shared cache still has the old tokens) refreshes
    # each once, re-sends the card in flight, and dies in turn inside a DingTalk send.
    workapps.expire_tokens()
    workapps.hold("dingtalk")
    outbox_worker.start()
    sweep()
    dingtalk_in_flight = kill_during_the_held_send(outbox_worker, workapps, "dingtalk")

    outbox_worker.start()
    sweep()
    wait_for(lambda: not ChannelDelivery.objects.filter(state=PENDING).exists(), timeout=60, what="every delivery made")

    assert set(ChannelDelivery.objects.values_list("state", flat=True)) == {SENT}
    assert ChannelDelivery.objects.count() == 12 and set(Notification.objects.values_list("state", flat=True)) == {SENT}
    for channel, in_flight in (("wecom", wecom_in_flight), ("dingtalk", dingtalk_in_flight)):
        accepted = [send for send in workapps.sent(channel) if send["errcode"] == 0]
        twice = {title for title, count in titles(accepted).items() if count > 1}
        copies = [send["body"] for send in accepted if titles([send]).keys() == twice]
        print(f"\n{channel}: {len(accepted)} sends accepted for 6 messages; re-sent after the kill: {twice}")
        assert set(titles(accepted)) == expected
        assert len(twice) == 1 and len(copies) == 2, "only the message in flight at the kill was sent again"
        assert copies[0] == copies[1] == in_flight, "as the same request"
        assert titles(workapps.shown(channel)) == dict.fromkeys(expected, 1), "each shown to its person once"
        cut_short = ChannelDelivery.objects.get(channel=channel, notification__subject=twice.pop())
        assert cut_short.crashes == 1
    assert workapps.issued == {"wecom": 2, "dingtalk": 2}, "one token each, then one refresh each, shared by workers"
    mailed = message_ids(outbox_worker.sink)
    assert mailed == {delivery.message_id(n): 1 for n in written}, "the e-mails went once each, unaffected"
    print(f"{time.monotonic() - started:.1f}s")


def test_an_administrator_role_without_superuser_may_requeue(reader, workapps, client):
    admin = make_user("role_admin", Role.ADMINISTRATOR)
    notify(reader, 1)
    row = deliveries("dingtalk").get()
    ChannelDelivery.objects.filter(pk=row.pk).update(state=FAILED)
    client.force_login(admin)
    client.post("/admin/outbox/channeldelivery/", {"action": "requeue_selected", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.state == PENDING
