"""The admin: administrators correct a meeting's date, place and attendees (recorded in the
audit trail); follow-up cases and letters are there to be looked up, not changed."""

import datetime

import pytest

from reviews import cases
from reviews.models import FollowUp, Letter, ReviewMeeting
from tasks.models import AuditEntry
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_session(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def red_case(year, department_a, staff_a, leadership, inspector):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    meeting = open_meeting(stage_of(year, 2), leadership)
    rate(meeting, task, 40, leadership)
    close(meeting, leadership)
    case = FollowUp.objects.get()
    return cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)


def test_an_administrator_corrects_a_meeting_date_and_the_correction_is_recorded(
    admin_session, administrator, year, leadership
):
    stage = stage_of(year, 3)
    meeting = ReviewMeeting.objects.create(stage=stage, date=stage.meeting_date, place="三楼")
    url = f"/admin/reviews/reviewmeeting/{meeting.pk}/change/"
    assert admin_session.get(url).status_code == 200

    response = admin_session.post(url, {"date": "2026-07-15", "place": "三楼", "attendees": [leadership.pk]})

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.date == datetime.date(2026, 7, 15) and list(meeting.attendees.all()) == [leadership]
    entry = AuditEntry.objects.get(action="change meeting")
    assert entry.actor == administrator
    assert entry.after == {"date": "2026-07-15", "attendees": ["leadership"]}
    assert entry.before == {"date": stage.meeting_date.isoformat(), "attendees": []}


def test_cases_and_letters_are_shown_but_not_changed(admin_session, red_case):
    letter = Letter.objects.get()
    for model, pk in (("followup", red_case.pk), ("letter", letter.pk)):
        assert admin_session.get(f"/admin/reviews/{model}/").status_code == 200
        assert admin_session.get(f"/admin/reviews/{model}/{pk}/change/").status_code == 200
        assert admin_session.post(f"/admin/reviews/{model}/{pk}/change/", {}).status_code == 403
        assert admin_session.get(f"/admin/reviews/{model}/add/").status_code == 403
    assert "纪督〔2026〕1号" in admin_session.get("/admin/reviews/letter/").content.decode()


def test_the_admin_is_for_administrators_only(client, inspector, red_case):
    client.force_login(inspector)
    assert client.get("/admin/reviews/followup/").status_code == 302  # to the admin's sign-in
