"""签收: the owner of a red or yellow task acknowledges the letter (or a colleague of the
department does, for the owner, recorded as such); the reply is then due the year's number of
working days later. Unacknowledged letters are reminded daily and show as overdue in the
inspector's queue after the year's number of days. Issue 13, point 1."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from lightboard import clock
from lightboard.roles import Role
from outbox.models import Notification
from reviews import cases
from reviews.models import CaseEvent, FollowUp
from reviews.reminders import send_due_reminders
from tasks.models import AuditEntry
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, open_meeting, rate, rating_of, stage_of

FRIDAY = datetime.date(2026, 11, 27)


@pytest.fixture
def red_case(year, leadership, department_a, staff_a, inspector):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="新产线投产")
    meeting = open_meeting(stage_of(year, 2), leadership)
    rate(meeting, task, 45, leadership)
    close(meeting, leadership)
    case = FollowUp.objects.get(rating=rating_of(meeting, task))
    with clock.as_of(FRIDAY):
        case = cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    # Issued on the Friday, at ten in the morning, whatever the real time of the run: a letter's
    # issue time is the real moment (auto_now_add), which from the Friday on fell on the next day.
    case.letters.update(issued_at=timezone.make_aware(datetime.datetime.combine(FRIDAY, datetime.time(10))))
    return case


def the_letter(case):
    return case.letters.get(kind="supervision")


def test_the_working_day_clock_skips_weekends():
    assert clock.add_working_days(FRIDAY, 1) == datetime.date(2026, 11, 30)  # Monday
    assert clock.add_working_days(FRIDAY, 10) == datetime.date(2026, 12, 11)
    assert clock.add_working_days(datetime.date(2026, 11, 28), 1) == datetime.date(2026, 11, 30)  # from a Saturday
    assert clock.add_working_days(FRIDAY, 0) == FRIDAY


def test_the_owner_acknowledges_and_the_reply_is_due_ten_working_days_later(red_case, staff_a, inspector):
    with clock.as_of(FRIDAY):
        letter = cases.acknowledge_letter(letter_id=the_letter(red_case).pk, by=staff_a)

    assert letter.acknowledged_by == staff_a and letter.acknowledged_for is None
    assert letter.reply_due == datetime.date(2026, 12, 11)
    event = red_case.events.get(action=CaseEvent.Action.ACKNOWLEDGED)
    assert event.actor == staff_a and "2026" in event.note
    assert AuditEntry.objects.filter(action="case: letter acknowledged", actor=staff_a).exists()
    # The inspector who issued it hears of it.
    assert Notification.objects.filter(recipient=inspector, kind="letter_acknowledged").count() == 1


def test_a_colleague_acknowledges_for_the_owner_and_it_is_recorded_so(red_case, staff_a, department_a, client):
    colleague = make_user("colleague_a", Role.STAFF, departments=[department_a], name="李敏")
    with clock.as_of(FRIDAY):
        letter = cases.acknowledge_letter(letter_id=the_letter(red_case).pk, by=colleague)
    assert letter.acknowledged_by == colleague and letter.acknowledged_for == staff_a
    assert "李敏" in red_case.events.get(action=CaseEvent.Action.ACKNOWLEDGED).note

    client.force_login(staff_a)
    page = client.get(f"/reviews/letters/{letter.pk}/").content.decode()
    assert "李敏" in page and "2026年12月11日" in page


def test_someone_else_cannot_acknowledge_the_letter(red_case, staff_b, leader_a, inspector):
    letter = the_letter(red_case)
    for stranger in (staff_b, leader_a, inspector):
        with pytest.raises(PermissionDenied):
            cases.acknowledge_letter(letter_id=letter.pk, by=stranger)
    letter.refresh_from_db()
    assert letter.acknowledged_at is None
    assert not CaseEvent.objects.filter(action=CaseEvent.Action.ACKNOWLEDGED).exists()


def test_a_letter_is_acknowledged_once(red_case, staff_a):
    letter = the_letter(red_case)
    cases.acknowledge_letter(letter_id=letter.pk, by=staff_a)
    with pytest.raises(ValidationError, match="签收"):
        cases.acknowledge_letter(letter_id=letter.pk, by=staff_a)
    assert red_case.events.filter(action=CaseEvent.Action.ACKNOWLEDGED).count() == 1


def test_the_owner_acknowledges_from_the_letter_page(red_case, staff_a, client):
    letter = the_letter(red_case)
    client.force_login(staff_a)
    page = client.get(f"/reviews/letters/{letter.pk}/").content.decode()
    assert "签收" in page and f"/reviews/letters/{letter.pk}/acknowledge/" in page

    response = client.post(f"/reviews/letters/{letter.pk}/acknowledge/", follow=True)

    html = response.content.decode()
    assert response.status_code == 200 and "已签收" in html and "回复期限" in html
    assert f"/reviews/letters/{letter.pk}/acknowledge/" not in html
    # A second post is refused with a message, and changes nothing.
    again = client.post(f"/reviews/letters/{letter.pk}/acknowledge/", follow=True).content.decode()
    assert "该函件已于" in again


def test_a_stranger_posting_the_acknowledgement_is_refused(red_case, staff_b, inspector, client):
    letter = the_letter(red_case)
    client.force_login(staff_b)
    assert client.post(f"/reviews/letters/{letter.pk}/acknowledge/").status_code == 404  # not their case
    client.force_login(inspector)
    assert client.post(f"/reviews/letters/{letter.pk}/acknowledge/").status_code == 403
    letter.refresh_from_db()
    assert letter.acknowledged_at is None


def test_an_unacknowledged_letter_is_reminded_daily_until_acknowledged(red_case, staff_a):
    letter = the_letter(red_case)
    day_after = FRIDAY + datetime.timedelta(days=1)
    send_due_reminders(today=day_after)
    send_due_reminders(today=day_after)  # beat again the same day
    send_due_reminders(today=day_after + datetime.timedelta(days=1))
    reminders = Notification.objects.filter(recipient=staff_a, kind="reminder_acknowledge")
    assert reminders.count() == 2 and letter.number in reminders.first().subject

    cases.acknowledge_letter(letter_id=letter.pk, by=staff_a)
    send_due_reminders(today=day_after + datetime.timedelta(days=2))
    assert reminders.count() == 2


def test_the_queue_shows_a_letter_unacknowledged_past_the_years_days(red_case, staff_a, inspector, client, year):
    letter = the_letter(red_case)
    client.force_login(inspector)
    year.acknowledge_within_days = 2
    year.save()
    issued = timezone.localdate(letter.issued_at)

    with clock.as_of(issued + datetime.timedelta(days=2)):
        assert "未签收" not in client.get("/reviews/followups/").content.decode()
    with clock.as_of(issued + datetime.timedelta(days=3)):
        assert "未签收 3 天" in client.get("/reviews/followups/").content.decode()
        cases.acknowledge_letter(letter_id=letter.pk, by=staff_a)
        assert "未签收" not in client.get("/reviews/followups/").content.decode()


def test_the_acknowledgement_is_dated_on_the_day_lightboard_takes_as_today(red_case, staff_a):
    with clock.as_of(FRIDAY):
        letter = cases.acknowledge_letter(letter_id=the_letter(red_case).pk, by=staff_a)
    assert timezone.localtime(letter.acknowledged_at).date() == FRIDAY < letter.reply_due


def test_nothing_is_acknowledged_once_the_case_has_moved_on(red_case, staff_a, inspector, client):
    letter = the_letter(red_case)
    case = FollowUp.objects.get(pk=red_case.pk)
    cases.escalate(case_id=case.pk, version=case.version, reason="整改不力，移交问责", by=inspector)

    with pytest.raises(ValidationError, match="无需签收"):
        cases.acknowledge_letter(letter_id=letter.pk, by=staff_a)
    client.force_login(staff_a)
    page = client.get(f"/reviews/letters/{letter.pk}/").content.decode()
    assert f"/reviews/letters/{letter.pk}/acknowledge/" not in page
    send_due_reminders(today=FRIDAY + datetime.timedelta(days=3))
    assert not Notification.objects.filter(kind="reminder_acknowledge").exists()
