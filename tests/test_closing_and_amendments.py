"""Closing the meeting freezes its ratings, opens a follow-up case per yellow and red one and
writes the minutes, exactly once; a frozen rating changes only by a recorded amendment."""

import datetime
import io
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from lightboard.colour import classify
from lightboard.versioning import StaleEdit
from outbox.models import Notification
from reviews import cases, services
from reviews.models import FollowUp, Rating, RatingAmendment, ReviewMeeting
from tasks.models import AuditEntry
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import (
    close,
    confirm,
    english,
    field_block,
    leadership_member,
    open_meeting,
    rate,
    rating_of,
    stage_of,
)

pytestmark = pytest.mark.django_db


def version_of(rating_id):
    """The rating's version as the amendment form shows it now."""
    return Rating.objects.get(pk=rating_id).version


@pytest.fixture
def second_member(db):
    return leadership_member("leadership2", name="王副总")


@pytest.fixture
def tasks(year, department_a, department_b, staff_a, staff_b):
    stage = stage_of(year, 2)
    tasks = {
        "green": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化"),
        "green_b": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="预算执行分析"),
        "yellow": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="设备大修"),
        "red": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="应收账款清收"),
        "missing": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="新产线投产"),
    }
    confirm(tasks["green"], stage, 92)
    confirm(tasks["green_b"], stage, "80.5")
    confirm(tasks["yellow"], stage, 70)
    confirm(tasks["red"], stage, 45)
    return tasks


@pytest.fixture
def meeting(year, leadership, second_member, tasks):
    return open_meeting(stage_of(year, 2), leadership, attendees=[leadership, second_member], place="二楼会议室")


@pytest.fixture
def complete(meeting, leadership, tasks):
    """Every task has its final score; decisions recorded for the red and yellow ones."""
    rate(meeting, tasks["yellow"], 70, leadership, decision="提醒督促，月底前完成", next_stage_target="完成大修验收")
    rate(meeting, tasks["red"], 45, leadership, decision="发函督办并约谈", next_stage_target="清收800万元")
    rate(meeting, tasks["missing"], 30, leadership, decision="未按期投产，发函督办")
    return meeting


@pytest.fixture
def group_client(client, leadership):
    client.force_login(leadership)
    return english(client)


def close_url(meeting):
    return f"/reviews/meetings/{meeting.pk}/close/"


def amend_url(rating):
    return f"/reviews/ratings/{rating.pk}/amend/"


# --- closing ---------------------------------------------------------------------------


def test_closing_asks_first_and_names_what_is_missing(group_client, leadership, meeting, tasks):
    page = group_client.get(close_url(meeting)).content.decode()
    unscored = page.split('id="unscored"')[1].split("</section>")[0]
    assert "新产线投产" in unscored and 'id="close-form"' not in page
    rate(meeting, tasks["missing"], 30, leadership, decision="")
    page = group_client.get(close_url(meeting)).content.decode()
    undecided = page.split('id="undecided"')[1].split("</section>")[0]
    assert "新产线投产" in undecided and 'id="close-form"' in page
    assert ReviewMeeting.objects.get(pk=meeting.pk).state == ReviewMeeting.State.IN_SESSION


def test_a_task_added_after_the_meeting_opened_is_put_on_the_board_before_closing(
    group_client, complete, year, department_a, staff_a
):
    late = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="会后新增任务")
    page = group_client.get(close_url(complete)).content.decode()
    assert "会后新增任务" in page.split('id="not-on-board"')[1].split("</section>")[0]
    assert 'id="close-form"' not in page
    assert group_client.post(f"/reviews/meetings/{complete.pk}/open/").status_code == 302
    page = group_client.get(close_url(complete)).content.decode()
    assert 'id="not-on-board"' not in page and "会后新增任务" in page.split('id="unscored"')[1]
    assert complete.ratings.filter(task=late).exists()


def test_closing_is_refused_while_a_task_has_no_final_score(group_client, meeting):
    response = group_client.post(close_url(meeting), follow=True)

    assert response.redirect_chain[-1][0] == f"/reviews/meetings/{meeting.pk}/close/"
    assert "1 tasks have no final score yet; every task needs one before the meeting closes." in (
        response.content.decode()
    )
    meeting.refresh_from_db()
    assert meeting.state == ReviewMeeting.State.IN_SESSION and meeting.closed_at is None
    assert not FollowUp.objects.exists()
    assert not AuditEntry.objects.filter(action="close meeting").exists()


def test_a_scheduled_meeting_cannot_be_closed(group_client, leadership, year):
    stage = stage_of(year, 4)
    meeting = services.schedule_meeting(stage=stage, date=stage.meeting_date, place="", attendees=[], by=leadership)
    response = group_client.post(close_url(meeting), follow=True)
    assert "Open the meeting before closing it." in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.state == ReviewMeeting.State.SCHEDULED


def test_closing_freezes_the_meeting_and_opens_a_case_per_yellow_and_red(group_client, leadership, complete, tasks):
    response = group_client.post(close_url(complete))

    assert response.status_code == 302 and response.url == f"/reviews/meetings/{complete.pk}/minutes/"
    complete.refresh_from_db()
    assert complete.state == ReviewMeeting.State.CLOSED
    assert complete.closed_by == leadership and complete.closed_at is not None
    today = timezone.localdate()
    opened = {case.rating.task_id: case for case in FollowUp.objects.select_related("rating")}
    assert set(opened) == {tasks["yellow"].pk, tasks["red"].pk, tasks["missing"].pk}
    assert opened[tasks["yellow"].pk].kind == FollowUp.Kind.REMINDER
    assert opened[tasks["yellow"].pk].due_date == today + datetime.timedelta(days=cases.REMINDER_DAYS)
    for key in ("red", "missing"):
        assert opened[tasks[key].pk].kind == FollowUp.Kind.SUPERVISION
        assert opened[tasks[key].pk].due_date == today + datetime.timedelta(days=cases.SUPERVISION_DAYS)
    assert all(case.state == FollowUp.State.OPEN for case in opened.values())
    entry = AuditEntry.objects.get(action="close meeting")
    assert entry.actor == leadership and entry.after == {"state": "closed", "follow_ups": 3}


def test_each_owner_hears_the_light_of_their_task(group_client, complete, tasks, staff_a, staff_b):
    group_client.post(close_url(complete))
    told = {
        n.subject: (n.recipient, n.body)
        for n in Notification.objects.filter(kind="rating_light").select_related("recipient")
    }
    meeting = "2026 stage 2"
    assert told[f"Red light at the {meeting} meeting: 应收账款清收, 45.0%"] == (staff_b, "发函督办并约谈")
    assert told[f"Yellow light at the {meeting} meeting: 设备大修, 70.0%"] == (staff_a, "提醒督促，月底前完成")
    assert len(told) == complete.ratings.count()
    group_client.post(close_url(complete))
    assert Notification.objects.filter(kind="rating_light").count() == len(told)


def test_closing_twice_creates_everything_once(group_client, leadership, second_member, complete):
    assert group_client.post(close_url(complete)).status_code == 302
    closed_at = ReviewMeeting.objects.get(pk=complete.pk).closed_at

    again = group_client.post(close_url(complete))
    services.close_meeting(meeting=complete, by=second_member)

    assert again.status_code == 302
    assert FollowUp.objects.count() == 3
    assert AuditEntry.objects.filter(action="close meeting").count() == 1
    meeting = ReviewMeeting.objects.get(pk=complete.pk)
    assert meeting.closed_at == closed_at and meeting.closed_by == leadership


def test_the_minutes_list_attendees_counts_decisions_and_commendations(group_client, leadership, complete, tasks):
    close(complete, leadership)

    response = group_client.get(f"/reviews/meetings/{complete.pk}/minutes/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "leadership、王副总" in html
    assert "二楼会议室" in html
    counts = re.search(r'id="minutes-counts">(.*?)</p>', html, re.S).group(1)
    assert re.findall(r'<span class="count (\w+)">[^<]*<strong>(\d+)</strong>', counts) == [
        ("green", "2"),
        ("yellow", "1"),
        ("red", "2"),
    ]
    follow = re.search(r'id="minutes-follow-up">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<tr data-task="(\d+)">(.*?)</tr>', follow, re.S)
    # red first, then yellow; within a colour in department order (A before B)
    assert [int(task) for task, _row in rows] == [tasks["missing"].pk, tasks["red"].pk, tasks["yellow"].pk]
    by_task = {int(task): row for task, row in rows}
    assert "发函督办并约谈" in by_task[tasks["red"].pk] and "清收800万元" in by_task[tasks["red"].pk]
    assert "Red light" in by_task[tasks["red"].pk]
    assert "提醒督促，月底前完成" in by_task[tasks["yellow"].pk] and "Yellow light" in by_task[tasks["yellow"].pk]
    commended = re.search(r'id="minutes-commended">(.*?)</table>', html, re.S).group(1)
    assert "安全生产标准化" in commended and "预算执行分析" in commended
    assert "设备大修" not in commended and "应收账款清收" not in commended


def test_the_minutes_excel_holds_the_same(group_client, leadership, complete, tasks):
    close(complete, leadership)

    response = group_client.get(f"/reviews/meetings/{complete.pk}/minutes.xlsx")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["Summary", "Red and yellow", "Commendation list", "Instructions", "Changes"]
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True)}
    assert summary["Place"] == "二楼会议室"
    assert summary["Attendees"] == "leadership、王副总"
    assert (summary["Green light"], summary["Yellow light"], summary["Red light"]) == (2, 1, 2)
    follow = list(workbook["Red and yellow"].iter_rows(values_only=True))
    assert follow[0][:5] == ("Department", "Task", "Owner", "Final score", "Light")
    assert [(row[1], row[3], row[4], row[5]) for row in follow[1:]] == [
        ("新产线投产", 30, "Red light", "未按期投产，发函督办"),
        ("应收账款清收", 45, "Red light", "发函督办并约谈"),
        ("设备大修", 70, "Yellow light", "提醒督促，月底前完成"),
    ]
    commended = list(workbook["Commendation list"].iter_rows(values_only=True))
    assert sorted(row[1] for row in commended[1:]) == sorted(["安全生产标准化", "预算执行分析"])


def test_the_minutes_exist_only_after_closing(group_client, complete):
    assert group_client.get(f"/reviews/meetings/{complete.pk}/minutes/").status_code == 404
    assert group_client.get(f"/reviews/meetings/{complete.pk}/minutes.xlsx").status_code == 404


@pytest.mark.parametrize(("who", "status"), [("leader_a", 200), ("inspector", 200), ("staff_a", 403)])
def test_who_reads_the_minutes(client, request, leadership, complete, who, status):
    close(complete, leadership)
    client.force_login(request.getfixturevalue(who))
    assert client.get(f"/reviews/meetings/{complete.pk}/minutes/").status_code == status
    assert client.get(f"/reviews/meetings/{complete.pk}/minutes.xlsx").status_code == status


@pytest.mark.django_db(transaction=True)
def test_two_members_closing_at_once_create_everything_once(leadership, second_member, complete):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks; CI runs it on PostgreSQL")
    from django.db import connection as thread_connection

    barrier = threading.Barrier(2)
    errors = []

    def close_it(member):
        try:
            meeting = ReviewMeeting.objects.get(pk=complete.pk)
            barrier.wait(timeout=10)
            services.close_meeting(meeting=meeting, by=member)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=close_it, args=(member,)) for member in (leadership, second_member)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    meeting = ReviewMeeting.objects.get(pk=complete.pk)
    assert meeting.state == ReviewMeeting.State.CLOSED
    assert meeting.closed_by in (leadership, second_member)
    follow_ups = Rating.objects.filter(meeting=meeting, colour__in=["yellow", "red"])
    assert follow_ups.count() == 3
    assert FollowUp.objects.count() == 3
    assert set(FollowUp.objects.values_list("rating_id", flat=True)) == set(follow_ups.values_list("pk", flat=True))
    assert AuditEntry.objects.filter(action="close meeting").count() == 1


# --- amendments ------------------------------------------------------------------------


@pytest.fixture
def closed(leadership, complete):
    return close(complete, leadership)


def amend(client, rating, score, reason="会后核实"):
    version = type(rating).objects.get(pk=rating.pk).version  # the version the page would show
    return client.post(amend_url(rating), {"final_score": score, "reason": reason, "version": version})


def test_only_a_closed_meetings_rating_is_amended(group_client, leadership, complete, tasks):
    rating = rating_of(complete, tasks["yellow"])
    assert group_client.get(amend_url(rating)).status_code == 404
    assert amend(group_client, rating, "85").status_code == 404
    with pytest.raises(services.ValidationError):
        services.amend_rating(
            version=version_of(rating.pk), rating_id=rating.pk, final_score=Decimal(85), reason="x", by=leadership
        )
    rating.refresh_from_db()
    assert rating.final_score == Decimal(70) and not RatingAmendment.objects.exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_amendment_needs_a_reason(group_client, closed, tasks, reason):
    rating = rating_of(closed, tasks["yellow"])
    response = amend(group_client, rating, "85", reason=reason)
    assert response.status_code == 400
    assert "This field is required." in field_block(response.content.decode(), "reason") or (
        "Give the reason for the amendment." in field_block(response.content.decode(), "reason")
    )
    rating.refresh_from_db()
    assert rating.final_score == Decimal(70) and rating.colour == "yellow"
    assert not RatingAmendment.objects.exists()
    assert FollowUp.objects.get(rating=rating).state == FollowUp.State.OPEN


def test_an_amendment_to_the_same_score_is_refused(group_client, closed, tasks):
    rating = rating_of(closed, tasks["yellow"])
    response = amend(group_client, rating, "70")
    assert response.status_code == 400
    assert "The amended score is the same as the current one." in field_block(response.content.decode(), "final_score")
    assert not RatingAmendment.objects.exists()


@pytest.mark.parametrize("raw", ["", "abc", "-1", "100.1", "80.55"])
def test_a_bad_amended_score_is_refused(group_client, closed, tasks, raw):
    rating = rating_of(closed, tasks["yellow"])
    assert amend(group_client, rating, raw).status_code == 400
    rating.refresh_from_db()
    assert rating.final_score == Decimal(70) and not RatingAmendment.objects.exists()


def test_yellow_amended_to_green_keeps_the_original_and_closes_the_case(group_client, leadership, year, closed, tasks):
    rating = rating_of(closed, tasks["yellow"])

    response = amend(group_client, rating, "85", reason="补充验收材料后核定")

    assert response.status_code == 302 and response.url == f"/reviews/meetings/{closed.pk}/"
    rating.refresh_from_db()
    assert rating.final_score == Decimal(85)
    assert rating.colour == "green" == classify(rating.final_score, green_above=year.green_above).value
    amendment = RatingAmendment.objects.get()
    assert (amendment.old_score, amendment.old_colour) == (Decimal(70), "yellow")
    assert (amendment.new_score, amendment.new_colour) == (Decimal(85), "green")
    assert amendment.reason == "补充验收材料后核定" and amendment.amended_by == leadership
    case = FollowUp.objects.get(rating=rating)
    assert case.state == FollowUp.State.CLOSED and "补充验收材料后核定" in case.conclusion
    entry = AuditEntry.objects.get(action="amend rating")
    assert entry.before == {"final_score": "70.0", "colour": "yellow"}
    assert entry.after == {"final_score": "85.0", "colour": "green"}

    page = group_client.get(amend_url(rating)).content.decode()
    assert "70.0% (Yellow light) → 85.0% (Green light)" in page
    assert "补充验收材料后核定" in page
    minutes = group_client.get(f"/reviews/meetings/{closed.pk}/minutes/").content.decode()
    assert "Amendments after the meeting" in minutes and "70.0 → 85.0" in minutes
    commended = re.search(r'id="minutes-commended">(.*?)</table>', minutes, re.S).group(1)
    assert "设备大修" in commended


def test_green_amended_to_red_opens_a_supervision_case(group_client, closed, tasks):
    rating = rating_of(closed, tasks["green"])
    assert not FollowUp.objects.filter(rating=rating).exists()

    assert amend(group_client, rating, "55", reason="复核发现隐患未整改").status_code == 302

    rating.refresh_from_db()
    assert rating.colour == "red"
    case = FollowUp.objects.get(rating=rating)
    assert case.kind == FollowUp.Kind.SUPERVISION and case.state == FollowUp.State.OPEN
    assert case.due_date == timezone.localdate() + datetime.timedelta(days=cases.SUPERVISION_DAYS)


def test_red_amended_to_yellow_turns_the_case_into_a_reminder(group_client, closed, tasks):
    rating = rating_of(closed, tasks["red"])
    case = FollowUp.objects.get(rating=rating)
    assert case.kind == FollowUp.Kind.SUPERVISION

    assert amend(group_client, rating, "65").status_code == 302

    case.refresh_from_db()
    assert case.kind == FollowUp.Kind.REMINDER and case.pk == FollowUp.objects.get(rating=rating).pk
    assert FollowUp.objects.filter(rating=rating).count() == 1


def test_a_case_closed_by_amendment_reopens_when_amended_back(group_client, closed, tasks):
    rating = rating_of(closed, tasks["yellow"])
    amend(group_client, rating, "85")
    amend(group_client, rating, "50", reason="再次核实")
    case = FollowUp.objects.get(rating=rating)
    assert case.state == FollowUp.State.OPEN and case.kind == FollowUp.Kind.SUPERVISION
    assert list(RatingAmendment.objects.values_list("old_score", "new_score")) == [
        (Decimal(70), Decimal(85)),
        (Decimal(85), Decimal(50)),
    ]


def test_a_change_within_the_same_colour_leaves_the_case_alone(group_client, closed, tasks):
    rating = rating_of(closed, tasks["yellow"])
    amend(group_client, rating, "75")
    case = FollowUp.objects.get(rating=rating)
    assert case.kind == FollowUp.Kind.REMINDER and case.state == FollowUp.State.OPEN


def test_the_closed_board_offers_amendments_not_ratings(group_client, closed, tasks):
    html = group_client.get(f"/reviews/meetings/{closed.pk}/").content.decode()
    rating = rating_of(closed, tasks["green"])
    assert f'href="/reviews/ratings/{rating.pk}/amend/"' in html
    assert "/present/?rating=" not in html
    assert 'id="close-meeting"' not in html


def test_another_member_can_amend_too(second_member, closed, tasks):
    client = english(Client())
    client.force_login(second_member)
    rating = rating_of(closed, tasks["missing"])
    assert amend(client, rating, "62", reason="补录投产证明").status_code == 302
    assert RatingAmendment.objects.get().amended_by == second_member


def test_a_yellow_case_amended_to_red_starts_again_with_a_supervision_letter_and_is_recorded(closed, tasks, leadership):
    from lightboard.roles import Role
    from reviews import cases
    from reviews.models import CaseEvent
    from tasks.models import AuditEntry
    from tests.conftest import make_user

    inspector = make_user("zhao", Role.INSPECTOR)
    rating = rating_of(closed, tasks["yellow"])
    case = FollowUp.objects.get(rating=rating)
    case = cases.send_reminder(case_id=case.pk, version=case.version, by=inspector)
    version_seen_by_inspector = case.version
    services.amend_rating(
        version=version_of(rating.pk), rating_id=rating.pk, final_score=20, reason="复核发现未完成", by=leadership
    )
    case.refresh_from_db()
    assert (case.kind, case.state) == (FollowUp.Kind.SUPERVISION, FollowUp.State.OPEN)
    assert case.serious and case.serious_reason
    assert CaseEvent.objects.filter(case=case, action="amended").exists()
    assert AuditEntry.objects.filter(action="case: amended", subject_id=case.pk).exists()
    # The inspector's page from before the amendment is stale; the next step is the letter.
    with pytest.raises(StaleEdit):
        cases.schedule_interview(
            case_id=case.pk, version=version_seen_by_inspector, at=None, place="x", participants="", by=inspector
        )
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    assert case.letters.filter(kind="supervision").exists()


def test_amended_back_to_green_closes_with_a_date_and_reopening_clears_the_conclusion(closed, tasks, leadership):
    rating = rating_of(closed, tasks["yellow"])
    services.amend_rating(
        version=version_of(rating.pk), rating_id=rating.pk, final_score=90, reason="佐证补齐", by=leadership
    )
    case = FollowUp.objects.get(rating=rating)
    assert case.state == FollowUp.State.CLOSED and case.closed_at is not None and case.conclusion
    services.amend_rating(
        version=version_of(rating.pk), rating_id=rating.pk, final_score=70, reason="再次复核", by=leadership
    )
    case.refresh_from_db()
    assert case.state == FollowUp.State.OPEN and case.closed_at is None and case.conclusion == ""


def test_two_members_amending_at_once_one_gets_changed_by_message(closed, tasks, leadership):
    rating = rating_of(closed, tasks["yellow"])
    seen = rating.version
    services.amend_rating(rating_id=rating.pk, final_score=90, reason="第一位", by=leadership, version=seen)
    with pytest.raises(StaleEdit):
        services.amend_rating(rating_id=rating.pk, final_score=40, reason="第二位", by=leadership, version=seen)
    rating.refresh_from_db()
    assert rating.final_score == 90


def test_meeting_mode_never_saves_onto_a_task_the_form_did_not_name(group_client, complete, tasks, leadership, year):
    other = services.schedule_meeting(
        stage=stage_of(year, 3), date=stage_of(year, 3).meeting_date, place="", attendees=[], by=leadership
    )
    services.open_meeting(meeting=other, by=leadership)
    foreign = rating_of(other, tasks["green"])
    before = list(complete.ratings.values_list("pk", "final_score", "version"))
    for url, named in [
        (f"/reviews/meetings/{complete.pk}/present/?rating={foreign.pk}", foreign.pk),  # the form names it
        (f"/reviews/meetings/{complete.pk}/present/", foreign.pk),
        (f"/reviews/meetings/{complete.pk}/present/?rating={foreign.pk}", ""),  # the form names none
    ]:
        response = group_client.post(url, {"final_score": "40", "version": "0", "rating": named})
        assert response.status_code == 404
    assert list(complete.ratings.values_list("pk", "final_score", "version")) == before
    assert rating_of(other, tasks["green"]).final_score == foreign.final_score


def test_the_minutes_run_a_fixed_number_of_queries(group_client, leadership, closed, department_a, staff_a):
    """More rated tasks and more amendments cost no more queries on the minutes page."""
    url = f"/reviews/meetings/{closed.pk}/minutes/"
    with CaptureQueriesContext(connection) as small:
        assert group_client.get(url).status_code == 200
    extra = KeyTaskFactory.create_batch(30, year=closed.stage.year, department=department_a, owner=staff_a)
    ratings = Rating.objects.bulk_create(
        Rating(meeting=closed, task=task, final_score=Decimal("50.0"), colour="red", decision="约谈") for task in extra
    )
    RatingAmendment.objects.bulk_create(
        RatingAmendment(
            rating=rating,
            old_score=Decimal("50.0"),
            new_score=Decimal("65.0"),
            old_colour="red",
            new_colour="yellow",
            reason=f"会后核实{n}",
            amended_by=leadership,
        )
        for n, rating in enumerate(ratings)
    )
    with CaptureQueriesContext(connection) as large:
        html = group_client.get(url).content.decode()
    assert len(large.captured_queries) == len(small.captured_queries)
    assert html.count("会后核实") == 30 and html.count("约谈") >= 30
