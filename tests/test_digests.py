"""Preferences and the daily digest: each person chooses, per kind of message, an e-mail at once
or one e-mail a day; letters, interview notices and returns go at once by default, reminders
and commendations in the digest. The inbox shows every message at once either way. A digest is
one outbox row per person and day, however many beat processes run."""

import datetime
import re
import threading
import zoneinfo

import pytest
from django.db import connection

from lightboard import clock as lightboard_clock
from lightboard.roles import Role
from outbox import delivery, digests, kinds, services
from outbox.kinds import Category, Mode
from outbox.models import Notification, Preference
from tests.conftest import make_user

State = Notification.State
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MORNING = datetime.datetime(2026, 11, 27, 8, 5, tzinfo=SHANGHAI)
NIGHT = datetime.datetime(2026, 11, 27, 3, 0, tzinfo=SHANGHAI)
DAY = datetime.date(2026, 11, 27)


@pytest.fixture
def owner(db):
    return make_user("owner", Role.STAFF, email="owner@example.com", name="王强")


def message(owner, kind, subject, key=None, link="/tasks/mine/"):
    key = key or f"{kind}:{subject}:{owner.pk}"
    return services.notify(recipient=owner, kind=kind, subject=subject, key=key, link=link)


# --- defaults and choices --------------------------------------------------------------------


def test_letters_interviews_and_returns_go_at_once_reminders_and_commendations_wait(owner):
    at_once = [
        message(owner, "letter_supervision", "督办函"),
        message(owner, "letter_interview", "约谈通知"),
        message(owner, "letter_reminder", "提醒督促函"),
        message(owner, "assessment_returned", "自评被退回"),
        message(owner, "list_returned", "任务清单被退回"),
    ]
    in_digest = [
        message(owner, "reminder_self_assessment", "自评即将到期"),
        message(owner, "reminder_overdue_case", "督办事项已逾期"),
        message(owner, "commendation", "表扬通报"),
    ]
    assert {n.state for n in at_once} == {State.PENDING}
    assert {n.state for n in in_digest} == {State.HELD}


def test_a_persons_choice_overrides_the_default_for_that_category_only(owner):
    services.set_preferences(user=owner, modes={Category.LETTERS: Mode.DAILY, Category.REMINDERS: Mode.IMMEDIATE})
    assert message(owner, "letter_supervision", "督办函").state == State.HELD
    assert message(owner, "reminder_confirmation", "待确认").state == State.PENDING
    assert message(owner, "commendation", "表扬通报").state == State.HELD  # still the default
    other = make_user("other", email="other@example.com")
    assert message(other, "letter_supervision", "督办函").state == State.PENDING


def test_a_letter_cannot_be_switched_off_and_a_refused_choice_changes_nothing(owner):
    with pytest.raises(ValueError):
        services.set_preferences(user=owner, modes={Category.REMINDERS: Mode.IMMEDIATE, Category.LETTERS: Mode.OFF})
    assert not Preference.objects.exists()


def test_every_kind_the_apps_send_has_a_category_with_a_default():
    for kind in [
        "letter_supervision", "letter_interview", "letter_reminder", "assessment_returned", "list_returned",
        "assessment_confirmed", "rating_light", "list_submitted", "list_approved", "commendation",
        "reminder_self_assessment", "reminder_confirmation", "reminder_overdue_case", "briefing",
    ]:  # fmt: skip
        assert kinds.DEFAULTS[kinds.category_of(kind)] in kinds.CHOICES[kinds.category_of(kind)]


def test_held_messages_are_in_the_inbox_at_once(owner, client):
    message(owner, "reminder_self_assessment", "自评即将到期：设备完好率")
    client.force_login(owner)
    page = client.get("/inbox/").content.decode()
    assert "自评即将到期：设备完好率" in page
    assert re.search(r'id="inbox-count"[^>]*>1<', client.get("/inbox/count/").content.decode())


# --- the daily digest --------------------------------------------------------------------------


def test_nothing_is_gathered_before_the_digest_hour(owner):
    message(owner, "reminder_self_assessment", "自评即将到期")
    assert digests.send_daily_digests(NIGHT) == 0
    assert not Notification.objects.filter(kind=kinds.DIGEST).exists()


def test_one_digest_per_person_carries_the_held_messages_and_is_sent_as_one_email(owner, mail_server, client):
    other = make_user("other", email="other@example.com")
    first = message(owner, "reminder_self_assessment", "自评即将到期：设备完好率", link="/tasks/7/assess/2/")
    second = message(owner, "commendation", "表扬通报：第2阶段")
    message(other, "commendation", "表扬通报：第2阶段")
    letter = message(owner, "letter_supervision", "督办函：应收账款清收")

    with lightboard_clock.as_of(DAY):
        assert digests.send_daily_digests(MORNING) == 2
    delivery.deliver_due()

    digest = Notification.objects.get(recipient=owner, kind=kinds.DIGEST)
    assert digest.idempotency_key == f"digest:{owner.pk}:2026-11-27" and digest.state == State.SENT
    assert "2026-11-27" in digest.subject and "2" in digest.subject
    assert "自评即将到期：设备完好率" in digest.body and "表扬通报：第2阶段" in digest.body
    assert "/tasks/7/assess/2/" in digest.body and "督办函" not in digest.body
    for row in (first, second):
        row.refresh_from_db()
        assert row.state == State.DIGESTED and row.digest_id == digest.pk
    to_owner = [mail for mail in mail_server.received if mail["To"] == "owner@example.com"]
    assert sorted(mail["Subject"] for mail in to_owner) == sorted([digest.subject, letter.subject])
    assert len(mail_server.received) == 3, "the letter, and one digest for each person"
    # The digest is an envelope: the inbox shows the messages it carries, not the digest itself.
    client.force_login(owner)
    inbox = client.get("/inbox/").content.decode()
    assert digest.subject not in inbox and "表扬通报：第2阶段" in inbox


def test_a_second_run_the_same_day_sends_nothing_and_later_messages_wait_for_tomorrow(owner):
    message(owner, "reminder_self_assessment", "第一封")
    with lightboard_clock.as_of(DAY):
        assert digests.send_daily_digests(MORNING) == 1
        late = message(owner, "reminder_self_assessment", "第二封")
        assert digests.send_daily_digests(MORNING + datetime.timedelta(hours=3)) == 0
    late.refresh_from_db()
    assert late.state == State.HELD

    with lightboard_clock.as_of(DAY + datetime.timedelta(days=1)):
        assert digests.send_daily_digests(MORNING + datetime.timedelta(days=1)) == 1
    tomorrow = Notification.objects.get(idempotency_key=f"digest:{owner.pk}:2026-11-28")
    assert "第二封" in tomorrow.body and "第一封" not in tomorrow.body
    assert Notification.objects.filter(kind=kinds.DIGEST).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_beat_processes_write_one_digest_per_person_and_day():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks; CI runs it on PostgreSQL")
    from django.db import connection as thread_connection

    people = [make_user(f"person{n}", email=f"person{n}@example.com") for n in range(30)]
    for person in people:
        for number in range(3):
            message(person, "reminder_overdue_case", f"督办事项已逾期 {number}")
    barrier = threading.Barrier(2)
    written, errors = [], []

    def beat():
        try:
            barrier.wait(timeout=10)
            with lightboard_clock.as_of(DAY):
                written.append(digests.send_daily_digests(MORNING))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == [] and sum(written) == 30, written
    assert Notification.objects.filter(kind=kinds.DIGEST).count() == 30
    assert not Notification.objects.filter(state=State.HELD).exists()
    for digest in Notification.objects.filter(kind=kinds.DIGEST):
        assert digest.gathered.count() == 3


def test_the_celery_task_gathers_the_digests(owner, settings):
    from outbox.tasks import send_daily_digests

    settings.DIGEST_HOUR = 0
    message(owner, "commendation", "表扬通报")
    assert send_daily_digests.apply().get() == 1


# --- the settings page ---------------------------------------------------------------------------


def test_a_person_sets_the_choices_on_the_message_settings_page(owner, client):
    client.force_login(owner)
    page = client.get("/inbox/settings/").content.decode()
    assert "Weekly briefing" not in page and "每周简报" not in page  # not in the leadership group
    response = client.post(
        "/inbox/settings/",
        {
            "letters": "immediate",
            "returns": "immediate",
            "updates": "daily",
            "reminders": "immediate",
            "commendations": "daily",
        },
    )
    assert response.status_code == 302
    assert dict(Preference.objects.filter(user=owner).values_list("category", "mode")) == {
        "letters": "immediate",
        "returns": "immediate",
        "updates": "daily",
        "reminders": "immediate",
        "commendations": "daily",
    }
    assert message(owner, "reminder_confirmation", "待确认").state == State.PENDING


def test_a_choice_the_page_does_not_offer_is_refused_next_to_its_field(owner, client):
    client.force_login(owner)
    response = client.post("/inbox/settings/", {"letters": "off", "reminders": "daily"})
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    assert not Preference.objects.exists()


def test_an_empty_form_is_refused_with_a_message_at_each_field(owner, client):
    client.force_login(owner)
    response = client.post("/inbox/settings/", {})
    assert response.status_code == 200
    assert response.content.decode().count('class="field-error"') == 5
    assert not Preference.objects.exists()


def test_the_leadership_group_may_turn_the_weekly_briefing_off(db, client):
    member = make_user("member", Role.LEADERSHIP)
    client.force_login(member)
    page = client.get("/inbox/settings/").content.decode()
    assert 'name="briefing"' in page
    choices = {category: kinds.DEFAULTS[category] for category in kinds.CHOICES if category != Category.SYSTEM}
    client.post("/inbox/settings/", {**choices, "briefing": "off"})
    assert Preference.objects.get(user=member, category=Category.BRIEFING).mode == Mode.OFF
