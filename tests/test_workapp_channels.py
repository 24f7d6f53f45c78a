"""WeCom and DingTalk as outbox channels, against a local server that answers as the two services
do (tests/fake_workapps.py): each app message is a delivery of its own beside the e-mail and the
inbox row, with the e-mail's claims, backoff, retry time and poison rule. Across an expired
token, a rate-limit answer and a worker killed mid-send (a real Celery worker, on PostgreSQL and
Redis) each message is shown once; the server's log shows one send per idempotency key (each
message's link carries a token of its key), and a second, identical one only for the message in
flight when its worker died, which the service's duplicate rule does not show again."""

import datetime
import hashlib
import json
import re
import time
import zoneinfo
from collections import Counter
from urllib.parse import parse_qs, quote, urlsplit

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
MINUTE = datetime.timedelta(minutes=1)


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


def key_token(notification):
    """The token of the notification's idempotency key that its app messages carry (m=)."""
    return hashlib.sha256(notification.idempotency_key.encode()).hexdigest()[:12]


def url_of(send):
    body = send["body"]
    return body["textcard"]["url"] if send["channel"] == "wecom" else body["msg"]["action_card"]["single_url"]


def tokens(sends):
    """How many times each notification appears in the server's log, by the token in its link."""
    return Counter(parse_qs(urlsplit(url_of(send)).query)["m"][0] for send in sends)


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
        return f"{settings.SITE_URL}/accounts/workapps/{channel}/start/?next={next_page}&m={key_token(notification)}"

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
    assert tokens(workapps.shown()) == {key_token(notification): 2}, "the link carries the key's token"


def test_without_app_sign_in_the_button_opens_the_page_itself(reader, workapps, settings):
    settings.WORKAPPS_SIGNIN = False
    notification = notify(reader, 2)
    delivery.deliver_due()
    [card] = workapps.shown("wecom")
    assert card["body"]["textcard"]["url"] == f"{settings.SITE_URL}/reviews/followups/2/?m={key_token(notification)}"


def test_two_notifications_saying_the_same_thing_are_both_shown_once_each(reader, workapps, mail_server, clock):
    """A self-assessment returned twice with the same comment: same subject, body and link, two
    notifications. Both apps drop repeated content (WeCom's duplicate check, DingTalk's once a
    day), so only the token of each idempotency key in the link keeps them two messages."""
    same = {"kind": "letter_supervision", "subject": "自评被退回", "body": "请补充佐证材料。", "link": "/reviews/1/"}
    first = services.notify(recipient=reader, key="returned:1:first", **same)
    delivery.deliver_due()
    second = services.notify(recipient=reader, key="returned:1:second", **same)
    delivery.deliver_due()

    for channel in ("wecom", "dingtalk"):
        assert tokens(workapps.shown(channel)) == {key_token(first): 1, key_token(second): 1}, channel
    assert len(workapps.sent()) == 4

    # The same notification sent again (a worker died mid-send) is the same request: shown once.
    ChannelDelivery.objects.filter(notification=second).update(state=PENDING, next_attempt_at=timezone.now())
    delivery.deliver_due()
    assert len(workapps.sent()) == 6
    for channel in ("wecom", "dingtalk"):
        assert tokens(workapps.shown(channel)) == {key_token(first): 1, key_token(second): 1}, channel
    clock.advance(minutes=2)
    delivery.deliver_due()  # DingTalk reports the repeat as "same content today": it was shown
    assert set(deliveries("dingtalk").values_list("state", flat=True)) == {SENT}
    assert deliveries("dingtalk").filter(confirmed_at=None).count() == 0


def test_a_dingtalk_task_for_an_invalid_user_fails_and_one_over_the_daily_cap_goes_again_the_next_day(
    reader, workapps, mail_server, administrator, clock
):
    """asyncsend_v2 accepts any user id and answers with a task id; who was invalid or over a
    per-person limit shows in getsendresult, asked a minute later by the next delivery run. An
    invalid id fails; a person over the daily cap (143105: not shown) gets the message the next
    day, unless that is past the delivery's retry time."""
    stranger = person("stranger", wecom=False)  # an id DingTalk does not know
    busy = person("busy", wecom=False)
    late = person("late", wecom=False)
    workapps.add_users(dingtalk=["dd-busy", "dd-late"])
    workapps.cap("dd-busy")
    workapps.cap("dd-late")
    notify(stranger, 1)
    notify(busy, 2)
    notify(reader, 3)
    notify(late, 4)
    deliveries("dingtalk").filter(notification__recipient=late).update(retry_until=clock.now + MINUTE * 3)

    delivery.deliver_due()

    assert set(deliveries("dingtalk").values_list("state", flat=True)) == {SENT}, "accepted, as DingTalk says"
    assert all(row.task_id for row in deliveries("dingtalk"))
    assert delivery.deliver_due()["failed"] == 0 and workapps.results_asked == [], "not asked before a minute"
    assert not Notification.objects.filter(recipient=administrator, kind=kinds.DELIVERY_FAILED).exists()

    clock.advance(minutes=2)
    totals = delivery.deliver_due()

    assert totals["failed"] == 2 and totals["confirmed"] == 1 and totals["requeued"] == 1
    invalid = deliveries("dingtalk").get(notification__recipient=stranger)
    capped = deliveries("dingtalk").get(notification__recipient=busy)
    delivered = deliveries("dingtalk").get(notification__recipient=reader)
    too_late = deliveries("dingtalk").get(notification__recipient=late)
    assert invalid.state == FAILED and "invalid_user_id_list" in invalid.last_error
    assert delivered.state == SENT and delivered.confirmed_at is not None
    assert too_late.state == FAILED and "143105" in too_late.last_error, "tomorrow is past its retry time"
    assert capped.state == PENDING and "143105" in capped.last_error and capped.attempts == 1
    assert capped.task_id == "" and capped.sent_at is None
    china = zoneinfo.ZoneInfo("Asia/Shanghai")
    tomorrow = clock.now.astimezone(china).date() + datetime.timedelta(days=1)
    assert capped.next_attempt_at == datetime.datetime.combine(tomorrow, datetime.time(0, 5), tzinfo=china)
    notice = Notification.objects.get(recipient=administrator, kind=kinds.DELIVERY_FAILED)
    assert notice.link == "/admin/outbox/channeldelivery/?state__exact=failed"
    asked = len(workapps.results_asked)
    clock.advance(minutes=2)
    delivery.deliver_due()
    assert len(workapps.results_asked) == asked, "a confirmed, failed or re-queued delivery is not asked about"
    assert not [send for send in workapps.sent("dingtalk") if send["userid"] == "dd-busy"][1:], "not before tomorrow"

    workapps.uncap("dd-busy")  # a new day
    clock.set(capped.next_attempt_at)
    delivery.deliver_due()
    clock.advance(minutes=2)
    delivery.deliver_due()

    capped.refresh_from_db()
    assert capped.state == SENT and capped.confirmed_at is not None and capped.attempts == 2
    assert titles(workapps.shown("dingtalk"))["督办函 2"] == 1


def test_a_dingtalk_person_over_a_per_minute_limit_gets_the_message_a_minute_later_without_an_attempt_counted(
    reader, workapps, mail_server, administrator, clock
):
    """getsendresult's forbidden list also holds people a burst put over a per-minute limit
    (143103/143104, for an ISV 143203/143204): never shown the message, which goes again."""
    other = person("other", wecom=False)
    workapps.add_users(dingtalk=["dd-other"])
    workapps.forbid("dd-reader", "143103", count=1)
    workapps.forbid("dd-other", "143204", count=1)
    notify(reader, 1)
    notify(other, 2)
    delivery.deliver_due()
    clock.advance(minutes=2)

    totals = delivery.deliver_due()

    assert totals["requeued"] == 2 and totals["failed"] == 0 and totals["confirmed"] == 0
    for row, code in zip(deliveries("dingtalk").order_by("notification__subject"), ["143103", "143204"], strict=True):
        assert row.state == PENDING and row.attempts == 0 and code in row.last_error, row.last_error
        assert row.task_id == "" and row.sent_at is None and row.confirmed_at is None and row.next_check_at is None
        assert clock.now < row.next_attempt_at <= clock.now + delivery.THROTTLE_WAIT
    assert not workapps.shown("dingtalk")

    clock.advance(minutes=1)
    delivery.deliver_due()
    clock.advance(minutes=2)
    totals = delivery.deliver_due()

    assert totals["confirmed"] == 2
    assert set(deliveries("dingtalk").values_list("state", "attempts")) == {(SENT, 1)}
    assert titles(workapps.shown("dingtalk")) == {"督办函 1": 1, "督办函 2": 1}
    assert not Notification.objects.filter(recipient=administrator, kind=kinds.DELIVERY_FAILED).exists()
    # The copy sent again carries a token of its own: should DingTalk count the copy it did not
    # show towards "the same content today" (143106), it cannot take the re-send for a repeat.
    tokens = [re.findall(r"m(?:=|%3D)([0-9a-f]{12})", json.dumps(send["body"])) for send in workapps.sent("dingtalk")]
    assert len(tokens) == 4 and len({token[0] for token in tokens}) == 4, tokens


def test_a_dingtalk_person_in_failed_user_id_list_is_sent_it_again_until_the_retry_time_is_over(
    reader, workapps, mail_server, administrator, clock
):
    workapps.fail("dd-reader", count=2)
    notify(reader, 1)
    delivery.deliver_due()
    clock.advance(minutes=2)

    assert delivery.deliver_due()["requeued"] == 1
    row = deliveries("dingtalk").get()
    assert row.state == PENDING and row.attempts == 1 and "failed_user_id_list" in row.last_error
    assert clock.now < row.next_attempt_at <= clock.now + delivery.backoff(1)
    ChannelDelivery.objects.filter(pk=row.pk).update(retry_until=clock.now + MINUTE * 2)

    clock.advance(minutes=1)
    delivery.deliver_due()  # sent again, and DingTalk lists it as failed again
    clock.advance(minutes=2)
    delivery.deliver_due()

    row.refresh_from_db()
    assert row.state == FAILED and "failed_user_id_list" in row.last_error and row.attempts == 2
    assert Notification.objects.filter(recipient=administrator, kind=kinds.DELIVERY_FAILED).exists()


GETSENDRESULT = "/topapi/message/corpconversation/getsendresult"


def test_a_dingtalk_result_that_cannot_be_read_does_not_stop_the_deliveries(reader, workapps, mail_server, clock):
    """A forbidden entry that is not an object, lists that are not lists, a send_result that is
    not an object, a task id that is not a number: every run still delivers, and that task is
    asked about again later (or, listed as forbidden for a reason it cannot read, sent again)."""
    garbage = [
        ({"forbidden_user_id_list": ["dd-reader"], "forbidden_list": ["143103", 7, None]}, PENDING),
        ({"read_user_id_list": 5, "unread_user_id_list": {"dd-reader": 1}, "forbidden_list": {"code": 1}}, SENT),
        (["not", "an", "object"], SENT),
        (None, SENT),  # the stored task id is not a number
    ]
    for number, (answer, state) in enumerate(garbage):
        ChannelDelivery.objects.filter(confirmed_at=None).update(confirmed_at=clock.now)  # the others: done
        notify(reader, number)
        delivery.deliver_due()
        row = deliveries("dingtalk").get(notification__subject=f"督办函 {number}")
        if answer is None:
            ChannelDelivery.objects.filter(pk=row.pk).update(task_id="12ab")
        else:
            workapps.answer_next(GETSENDRESULT, {"errcode": 0, "errmsg": "ok", "send_result": answer})
        clock.advance(minutes=2)
        notify(reader, 100 + number)

        totals = delivery.deliver_due()

        assert totals["sent"] >= 3, answer  # the e-mail and both apps (and the one DingTalk forbade, again)
        assert f"/reviews/followups/{100 + number}/" in mail_server.received[-1].as_string(), "the e-mail went"
        row.refresh_from_db()
        assert row.state == state and row.confirmed_at is None, answer
        if state == SENT:
            assert row.next_check_at > clock.now, "asked again later"
        else:
            assert "no code" in row.last_error and row.next_attempt_at > clock.now
    assert len(mail_server.received) == 8


def test_a_confirmation_that_breaks_is_logged_and_the_run_delivers_all_the_same(
    reader, workapps, mail_server, monkeypatch, caplog
):
    from outbox import channels

    def broken(**kwargs):
        raise RuntimeError("DingTalk said something new")

    monkeypatch.setattr(channels, "confirm_sent", broken)
    notify(reader, 1)

    totals = delivery.deliver_due()

    assert totals["sent"] == 3 and len(mail_server.received) == 1
    assert "DingTalk said something new" in caplog.text and "delivering all the same" in caplog.text


def test_a_dingtalk_task_without_an_answer_is_asked_ever_less_often_and_newer_ones_get_their_turn(
    reader, workapps, clock
):
    """Each delivery has its next check: one DingTalk has not reported on is asked again later and
    later, the oldest do not take every run's questions, and after CONFIRM_WITHIN it is not
    asked any more (it stays sent, unconfirmed)."""
    from outbox import channels

    workapps.silent = True
    old = notify(reader, 1)
    delivery.deliver_due()
    clock.advance(minutes=5)
    new = notify(reader, 2)
    delivery.deliver_due()
    tasks = {n.pk: int(deliveries("dingtalk").get(notification=n).task_id) for n in (old, new)}

    for _minute in range(60):  # a run every minute, each asking about one task at most
        clock.advance(minutes=1)
        channels.confirm_sent(limit=1)

    asked = Counter(workapps.results_asked)
    assert asked[tasks[new.pk]] >= 5, "the newer task gets its turn"
    assert 5 <= asked[tasks[old.pk]] <= 15, f"asked {asked[tasks[old.pk]]} times in an hour, not every run"

    workapps.silent = False
    clock.advance(hours=1)
    assert channels.confirm_sent()["confirmed"] == 2

    workapps.silent = True
    later = notify(reader, 3)
    delivery.deliver_due()
    clock.advance(hours=24)
    before = len(workapps.results_asked)
    channels.confirm_sent()
    assert len(workapps.results_asked) == before, "DingTalk answers for 24 hours: not asked after that"
    row = deliveries("dingtalk").get(notification=later)
    assert row.state == SENT and row.confirmed_at is None


def test_two_runs_asking_at_once_count_a_delivery_confirmed_once(reader, workapps, clock, monkeypatch):
    from outbox import channels
    from workapps.dingtalk import Client

    notify(reader, 1)
    delivery.deliver_due()
    clock.advance(minutes=2)
    real = Client.send_result
    counts = []

    def meanwhile(self, task_id):
        """The other run asks, and writes, while this one waits for DingTalk's answer."""
        answer = real(self, task_id)
        if not counts:
            counts.append(None)
            counts.append(channels.confirm_sent(now=clock.now + MINUTE)["confirmed"])
        return answer

    monkeypatch.setattr(Client, "send_result", meanwhile)
    first = channels.confirm_sent()["confirmed"]

    assert counts[1] + first == 1
    row = deliveries("dingtalk").get()
    assert row.confirmed_at is not None and row.confirmed_at > clock.now, "as the run that confirmed it wrote"


def test_titles_are_cut_to_each_apps_limit_and_refused_content_is_not_retried_but_an_invalid_parameter_is(
    reader, workapps, mail_server, administrator, clock
):
    long = "关于" + "生产运营部设备大修整改" * 20  # 222 characters, 666 bytes
    notify(reader, 1, subject=long[:200], body="正文" * 400)
    delivery.deliver_due()
    [card] = workapps.shown("wecom")
    [note] = workapps.shown("dingtalk")
    assert len(card["body"]["textcard"]["title"].encode()) <= 128
    assert len(card["body"]["textcard"]["description"].encode()) <= 512
    assert len(note["body"]["msg"]["action_card"]["title"]) == 64
    assert note["body"]["msg"]["action_card"]["title"].endswith("…")

    workapps.answer_next("/cgi-bin/message/send", {"errcode": 45002, "errmsg": "content size out of limit"})
    workapps.answer_next("/topapi/message/corpconversation/asyncsend_v2", {"errcode": 40035, "errmsg": "不合法的参数"})
    notify(reader, 2)
    totals = delivery.deliver_due()

    # DingTalk's "invalid parameter" also comes from a wrong agent id: retried with the backoff.
    assert totals["failed"] == 1 and totals["retry"] == 1
    wecom, dingtalk = (deliveries(channel).get(notification__subject="督办函 2") for channel in ("wecom", "dingtalk"))
    assert wecom.state == FAILED and "45002" in wecom.last_error
    assert dingtalk.state == PENDING and "40035" in dingtalk.last_error
    assert dingtalk.next_attempt_at <= clock.now + delivery.backoff(1)
    assert Notification.objects.filter(recipient=administrator, kind=kinds.DELIVERY_FAILED).exists()

    too_long = {"errcode": 34016, "errmsg": "消息内容长度超过限制"}
    workapps.answer_next("/topapi/message/corpconversation/asyncsend_v2", too_long)
    clock.advance(minutes=1)
    totals = delivery.deliver_due()

    dingtalk.refresh_from_db()
    assert totals["failed"] == 1 and dingtalk.state == FAILED and "34016" in dingtalk.last_error, "too long: for good"


def test_a_run_with_a_slow_app_stops_within_its_seconds_and_one_call(reader, workapps, settings, monkeypatch):
    """The clock is read after every batch (not after a round of e-mail, WeCom and DingTalk), and
    each batch gets only the time left of the run."""
    reader.__class__.objects.filter(pk=reader.pk).update(email="")  # the e-mail line is the inbox row only
    for number in range(6):
        notify(reader, number)
    workapps.delay("wecom", 0.3)
    workapps.delay("dingtalk", 0.3)
    budget = 0.5

    started = time.monotonic()
    totals = delivery.deliver_due(seconds=budget)
    took = time.monotonic() - started

    limit = max(budget, delivery.MIN_BATCH_SECONDS) + 0.3 + 0.4  # the run, one call, and slack
    assert took < limit, f"{took:.1f}s: the run went on past its seconds"
    assert totals["more"] is True and totals["unsent"] > 0
    assert not workapps.sent("dingtalk"), "DingTalk waits for the next run"
    assert deliveries("wecom").filter(state=PENDING, attempts=0).exists(), "the rest go back untried"


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
        assert tokens(workapps.shown(channel)) == {key_token(n): 1 for n in written}, "one per idempotency key"
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
