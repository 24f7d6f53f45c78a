"""The leadership group schedules and opens the stage's review meeting, reads the board,
and steps through meeting mode; the colour always comes from the colour engine."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from lightboard.colour import classify
from lightboard.roles import Role
from reviews import queries, services
from reviews.models import Rating, ReviewMeeting
from tasks.models import AuditEntry, SelfAssessment
from tasks.services import create_assessment_year
from tests.conftest import make_user
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
    submit,
)

pytestmark = pytest.mark.django_db


def year_colour(score, year):
    return classify(score, green_above=year.green_above, red_below=year.red_below).value


@pytest.fixture
def stage(year):
    return stage_of(year, 2)


@pytest.fixture
def tasks(year, stage, department_a, department_b, staff_a, staff_b):
    """Department A: green 90, yellow 70, red 50 (adjusted from 65), missing (submitted, never
    confirmed). Department B: green 85 and 80.1, yellow exactly 60 and exactly 80."""
    owner_a2 = make_user("owner_a2", Role.STAFF, departments=[department_a])
    tasks = {
        "a_green": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="A绿"),
        "a_yellow": KeyTaskFactory(year=year, department=department_a, owner=owner_a2, title="A黄"),
        "a_red": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="A红"),
        "a_missing": KeyTaskFactory(year=year, department=department_a, owner=owner_a2, title="A缺"),
        "b_green": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="B绿"),
        "b_green_edge": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="B绿边界"),
        "b_yellow_60": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="B黄60"),
        "b_yellow_80": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="B黄80"),
    }
    confirm(tasks["a_green"], stage, 90)
    confirm(tasks["a_yellow"], stage, 70)
    confirm(tasks["a_red"], stage, 65, score=50, reason="证据不足")
    submit(tasks["a_missing"], stage, 75)
    confirm(tasks["b_green"], stage, 85)
    confirm(tasks["b_green_edge"], stage, "80.1")
    confirm(tasks["b_yellow_60"], stage, 60)
    confirm(tasks["b_yellow_80"], stage, 80)
    return tasks


@pytest.fixture
def meeting(stage, leadership, tasks):
    return open_meeting(stage, leadership, attendees=[leadership])


@pytest.fixture
def group_client(client, leadership):
    client.force_login(leadership)
    return english(client)


# An earlier stage's dot on the board: its light, and its number (seen; a reader hears "第1阶段 红灯").
EARLIER_DOT = r'<i class="light-dot (\w+)" title="[^"]*"><span aria-hidden="true">(\d)</span>'


def board_url(meeting, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/reviews/meetings/{meeting.pk}/" + (f"?{query}" if query else "")


def present_url(meeting, rating=None, everything=False):
    url = f"/reviews/meetings/{meeting.pk}/present/"
    params = ([f"rating={rating.pk}"] if rating else []) + (["all=1"] if everything else [])
    return url + ("?" + "&".join(params) if params else "")


def row_ids(html):
    return [int(pk) for pk in re.findall(r'data-rating="(\d+)"', html)]


def department_counts(html, department):
    body = re.search(rf'<tbody class="department" id="department-{department.pk}">(.*?)</tbody>', html, re.S).group(1)
    head = body.split("</tr>")[0]
    return {
        key: int(count)
        for key, count in re.findall(r'<span class="count (\w+)" title="[^"]*">[^<]*?(\d+)</span>', head)
    }


def overall_counts(html):
    totals = re.search(r'<p class="totals" id="totals">(.*?)</p>', html, re.S).group(1)
    return {key: int(n) for key, n in re.findall(r'<span class="count (\w+)">[^<]*<strong>(\d+)</strong>', totals)}


# --- scheduling and opening --------------------------------------------------------------


def test_the_group_schedules_a_meeting_with_date_place_and_attendees(group_client, leadership, year, stage):
    other = leadership_member("leadership2", name="王副总")
    response = group_client.post(
        "/reviews/meetings/",
        {"stage": stage.pk, "date": "2026-05-12", "place": "三楼会议室", "attendees": [leadership.pk, other.pk]},
    )

    assert response.status_code == 302
    meeting = ReviewMeeting.objects.get()
    assert meeting.stage == stage and meeting.state == ReviewMeeting.State.SCHEDULED
    assert str(meeting.date) == "2026-05-12" and meeting.place == "三楼会议室"
    assert set(meeting.attendees.all()) == {leadership, other}
    assert not meeting.ratings.exists()
    assert AuditEntry.objects.filter(action="schedule meeting", actor=leadership).count() == 1
    page = group_client.get("/reviews/meetings/").content.decode()
    assert "三楼会议室" in page and "Open the meeting" in page


def test_a_stage_gets_only_one_meeting(group_client, leadership, stage):
    open_meeting(stage, leadership)
    response = group_client.post("/reviews/meetings/", {"stage": stage.pk, "date": "2026-05-12"})
    assert response.status_code == 400
    assert ReviewMeeting.objects.count() == 1
    with pytest.raises(services.ValidationError):
        services.schedule_meeting(stage=stage, date=stage.meeting_date, place="", attendees=[], by=leadership)


def test_the_schedule_form_offers_the_stages_without_a_meeting_and_goes_once_each_has_one(
    group_client, leadership, year
):
    stages = list(year.stages.order_by("number"))
    for stage in stages[:-1]:
        services.schedule_meeting(stage=stage, date=stage.meeting_date, place="", attendees=[], by=leadership)
    page = group_client.get("/reviews/meetings/").content.decode()
    offered = re.search(r'<select name="stage"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="(\d+)"', offered) == [str(stages[-1].pk)]
    services.schedule_meeting(stage=stages[-1], date=stages[-1].meeting_date, place="", attendees=[], by=leadership)
    page = group_client.get("/reviews/meetings/").content.decode()
    assert "Schedule a meeting" not in page and 'name="stage"' not in page


def test_scheduling_needs_a_date(group_client, stage):
    response = group_client.post("/reviews/meetings/", {"stage": stage.pk, "date": ""})
    assert response.status_code == 400
    assert "This field is required." in field_block(response.content.decode(), "date")
    assert not ReviewMeeting.objects.exists()


def test_a_scheduled_meetings_board_offers_to_open_it(group_client, leadership, stage):
    meeting = services.schedule_meeting(stage=stage, date=stage.meeting_date, place="", attendees=[], by=leadership)
    html = group_client.get(board_url(meeting)).content.decode()
    assert "This meeting is scheduled but not open yet." in html
    assert f'action="/reviews/meetings/{meeting.pk}/open/"' in html


def test_opening_rates_every_task_of_the_year_prefilled_from_the_confirmed_score(
    group_client, leadership, year, stage, tasks
):
    other_year = create_assessment_year(year=2025)
    KeyTaskFactory(
        year=other_year, department=tasks["a_green"].department, owner=tasks["a_green"].owner, title="去年的任务"
    )
    meeting = services.schedule_meeting(stage=stage, date=stage.meeting_date, place="", attendees=[], by=leadership)

    response = group_client.post(f"/reviews/meetings/{meeting.pk}/open/")

    assert response.status_code == 302 and response.url == board_url(meeting)
    meeting.refresh_from_db()
    assert meeting.state == ReviewMeeting.State.IN_SESSION and meeting.opened_at is not None
    ratings = {rating.task.title: rating for rating in meeting.ratings.select_related("task")}
    assert set(ratings) == {task.title for task in tasks.values()}
    expected = {
        "A绿": ("90.0", "green"),
        "A黄": ("70.0", "yellow"),
        "A红": ("50.0", "red"),  # the leader's adjusted score, not the self score of 65
        "B绿": ("85.0", "green"),
        "B绿边界": ("80.1", "green"),
        "B黄60": ("60.0", "yellow"),
        "B黄80": ("80.0", "yellow"),
    }
    for title, (score, colour) in expected.items():
        assert ratings[title].final_score == Decimal(score)
        assert ratings[title].colour == colour == year_colour(Decimal(score), year)
    assert ratings["A缺"].final_score is None and ratings["A缺"].colour == ""
    assert AuditEntry.objects.filter(action="open meeting").count() == 1

    group_client.post(f"/reviews/meetings/{meeting.pk}/open/")
    assert meeting.ratings.count() == len(tasks)
    assert AuditEntry.objects.filter(action="open meeting").count() == 1


def test_opening_uses_the_years_own_thresholds(leadership, department_a, staff_a):
    strict = create_assessment_year(year=2027, green_above=85, red_below=65)
    stage = stage_of(strict, 1)
    scores = ["85.1", "85", "82", "65", "64.9", "60"]
    tasks = {
        score: KeyTaskFactory(year=strict, department=department_a, owner=staff_a, title=f"任务{score}")
        for score in scores
    }
    for score, task in tasks.items():
        confirm(task, stage, score)

    meeting = open_meeting(stage, leadership)

    colours = {score: rating_of(meeting, task).colour for score, task in tasks.items()}
    assert colours == {"85.1": "green", "85": "yellow", "82": "yellow", "65": "yellow", "64.9": "red", "60": "red"}
    for score in tasks:
        assert colours[score] == year_colour(Decimal(score), strict)


def test_a_closed_meeting_cannot_be_opened_again(group_client, leadership, meeting):
    rate(meeting, meeting.ratings.get(final_score__isnull=True).task, 70, leadership)
    close(meeting, leadership)
    response = group_client.post(f"/reviews/meetings/{meeting.pk}/open/", follow=True)
    assert "The meeting is closed." in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.state == ReviewMeeting.State.CLOSED


# --- who may act -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff_a", "leader_a", "inspector", "no_role"])
def test_only_the_leadership_group_reaches_the_meeting_screens(client, request, stage, leadership, tasks, who):
    scheduled = services.schedule_meeting(stage=stage, date=stage.meeting_date, place="", attendees=[], by=leadership)
    in_session = open_meeting(stage_of(stage.year, 3), leadership)
    rating = in_session.ratings.first()
    closed = open_meeting(stage_of(stage.year, 1), leadership)
    for each in closed.ratings.select_related("task"):
        rate(closed, each.task, 70, leadership)
    close(closed, leadership)
    frozen = closed.ratings.first()
    before = {
        "meetings": list(ReviewMeeting.objects.order_by("pk").values_list("pk", "state")),
        "ratings": list(Rating.objects.order_by("pk").values_list("pk", "final_score", "colour", "version")),
        "audit": AuditEntry.objects.count(),
    }
    client.force_login(request.getfixturevalue(who))
    score = {"final_score": "10", "score_reason": "x", "decision": "x", "next_stage_target": "", "version": 0}

    assert client.get("/reviews/meetings/").status_code == 403
    assert (
        client.post("/reviews/meetings/", {"stage": stage_of(stage.year, 4).pk, "date": "2026-09-01"}).status_code
        == 403
    )
    assert client.post(f"/reviews/meetings/{scheduled.pk}/open/").status_code == 403
    assert client.get(board_url(in_session)).status_code == 403
    assert client.get(board_url(in_session), HTTP_HX_REQUEST="true").status_code == 403
    assert client.get(present_url(in_session, rating)).status_code == 403
    assert client.post(present_url(in_session, rating), score).status_code == 403
    assert client.post(f"/reviews/meetings/{in_session.pk}/close/").status_code == 403
    assert client.get(f"/reviews/ratings/{frozen.pk}/amend/").status_code == 403
    assert client.post(f"/reviews/ratings/{frozen.pk}/amend/", {"final_score": "10", "reason": "x"}).status_code == 403

    assert list(ReviewMeeting.objects.order_by("pk").values_list("pk", "state")) == before["meetings"]
    assert (
        list(Rating.objects.order_by("pk").values_list("pk", "final_score", "colour", "version")) == before["ratings"]
    )
    assert AuditEntry.objects.count() == before["audit"]
    assert not ReviewMeeting.objects.filter(stage__number=4).exists()


def test_the_services_refuse_non_members_too(leader_a, stage, leadership, tasks):
    with pytest.raises(PermissionDenied):
        services.schedule_meeting(stage=stage, date=stage.meeting_date, place="", attendees=[], by=leader_a)
    meeting = open_meeting(stage, leadership)
    rating = meeting.ratings.first()
    with pytest.raises(PermissionDenied):
        services.open_meeting(meeting=meeting, by=leader_a)
    with pytest.raises(PermissionDenied):
        services.set_rating(
            rating_id=rating.pk,
            version=rating.version,
            final_score=Decimal(1),
            score_reason="x",
            decision="",
            next_stage_target="",
            by=leader_a,
        )
    with pytest.raises(PermissionDenied):
        services.close_meeting(meeting=meeting, by=leader_a)
    assert not rating.__class__.objects.filter(final_score=1).exists()


# --- the board -------------------------------------------------------------------------


def test_the_board_counts_by_department_and_overall(group_client, meeting, department_a, department_b, tasks):
    response = group_client.get(board_url(meeting))
    html = response.content.decode()

    assert response.status_code == 200
    assert department_counts(html, department_a) == {"green": 1, "yellow": 1, "red": 1, "missing": 1}
    assert department_counts(html, department_b) == {"green": 2, "yellow": 2, "red": 0, "missing": 0}
    assert overall_counts(html) == {"green": 3, "yellow": 3, "red": 1, "missing": 1}
    assert sorted(row_ids(html)) == sorted(meeting.ratings.values_list("pk", flat=True))


def test_the_board_rows_show_the_self_confirmed_and_final_scores_and_the_light(group_client, meeting, tasks):
    html = group_client.get(board_url(meeting)).content.decode()
    red = rating_of(meeting, tasks["a_red"])
    row = re.search(rf'<tr class="rating red" data-rating="{red.pk}">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', row)
    assert cells == ["65.0", "50.0", "50.0"]
    assert '<span class="light red">Red light</span>' in row
    missing = rating_of(meeting, tasks["a_missing"])
    row = re.search(rf'<tr class="rating missing" data-rating="{missing.pk}">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*">([^<]*)</td>', row) == ["75.0", "—", "—"]
    assert "No score" in row


def test_a_draft_self_score_is_not_on_the_board(group_client, meeting, tasks):
    SelfAssessment.objects.filter(task=tasks["a_missing"]).update(state=SelfAssessment.State.DRAFT)
    html = group_client.get(board_url(meeting)).content.decode()
    missing = rating_of(meeting, tasks["a_missing"])
    row = re.search(rf'<tr class="rating missing" data-rating="{missing.pk}">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*">([^<]*)</td>', row) == ["—", "—", "—"]


def test_the_board_shows_the_years_thresholds(group_client, meeting):
    html = group_client.get(board_url(meeting)).content.decode()
    assert "above 80%" in html and "below 60%" in html


@pytest.mark.parametrize("htmx", [False, True])
def test_the_colour_filter(group_client, meeting, tasks, htmx):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    expected = {
        "red": [tasks["a_red"]],
        "yellow": [tasks["a_yellow"], tasks["b_yellow_60"], tasks["b_yellow_80"]],
        "green": [tasks["a_green"], tasks["b_green"], tasks["b_green_edge"]],
        "missing": [tasks["a_missing"]],
    }
    for colour, tasks in expected.items():
        response = group_client.get(board_url(meeting, colour=colour), **extra)
        html = response.content.decode()
        assert response.status_code == 200
        assert sorted(row_ids(html)) == sorted(rating_of(meeting, task).pk for task in tasks)
        # the counts still show the whole picture
        assert overall_counts(html) == {"green": 3, "yellow": 3, "red": 1, "missing": 1}
        assert ("<html" in html) is not htmx


@pytest.mark.parametrize("htmx", [False, True])
def test_the_department_and_owner_filters(group_client, meeting, department_b, staff_a, tasks, htmx):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    html = group_client.get(board_url(meeting, department=department_b.pk), **extra).content.decode()
    assert sorted(row_ids(html)) == sorted(
        rating_of(meeting, tasks[key]).pk for key in ("b_green", "b_green_edge", "b_yellow_60", "b_yellow_80")
    )
    assert overall_counts(html) == {"green": 2, "yellow": 2, "red": 0, "missing": 0}

    html = group_client.get(board_url(meeting, owner=staff_a.pk), **extra).content.decode()
    assert sorted(row_ids(html)) == sorted(rating_of(meeting, tasks[key]).pk for key in ("a_green", "a_red"))

    html = group_client.get(board_url(meeting, owner=staff_a.pk, colour="red"), **extra).content.decode()
    assert row_ids(html) == [rating_of(meeting, tasks["a_red"]).pk]

    html = group_client.get(board_url(meeting, department=department_b.pk, colour="red"), **extra).content.decode()
    assert row_ids(html) == []

    html = group_client.get(board_url(meeting, owner=department_b.division_leader_id), **extra).content.decode()
    assert row_ids(html) == [] and "No tasks match." in html


def test_the_htmx_request_returns_only_the_board_body(group_client, meeting):
    response = group_client.get(board_url(meeting, colour="red"), HTTP_HX_REQUEST="true")
    html = response.content.decode().strip()
    assert html.startswith('<div id="board-body">') and html.endswith("</div>")
    assert "<html" not in html and 'class="filters"' not in html
    full = group_client.get(board_url(meeting, colour="red")).content.decode()
    assert "<html" in full and 'id="board-body"' in full and 'hx-target="#board-body"' in full
    assert '<option value="red" selected>' in full


def test_a_large_board_opens_on_its_departments_and_loads_their_rows_on_demand(
    group_client, meeting, department_a, department_b, tasks, monkeypatch
):
    monkeypatch.setattr(queries, "BOARD_SUMMARY_ABOVE", len(tasks) - 1)

    html = group_client.get(board_url(meeting)).content.decode()

    assert row_ids(html) == []  # no task rows yet
    assert department_counts(html, department_a) == {"green": 1, "yellow": 1, "red": 1, "missing": 1}
    assert overall_counts(html) == {"green": 3, "yellow": 3, "red": 1, "missing": 1}
    assert "This board has 8 tasks" in html
    url = board_url(meeting)
    # without JavaScript the link is the board filtered to the department; htmx loads its rows
    assert f'href="{url}?department={department_b.pk}"' in html
    assert f'hx-get="{url}?department={department_b.pk}&amp;part=department"' in html
    assert f'href="{url}?all=1"' in html

    part = group_client.get(board_url(meeting, department=department_b.pk, part="department"), HTTP_HX_REQUEST="true")
    html = part.content.decode().strip()
    assert html.startswith(f'<tbody class="department" id="department-{department_b.pk}">')
    assert sorted(row_ids(html)) == sorted(
        rating_of(meeting, tasks[key]).pk for key in ("b_green", "b_green_edge", "b_yellow_60", "b_yellow_80")
    )
    assert "department-more" not in html

    html = group_client.get(board_url(meeting, all=1)).content.decode()
    assert len(row_ids(html)) == len(tasks) and "department-more" not in html
    html = group_client.get(board_url(meeting, colour="red")).content.decode()  # a filter shows rows
    assert row_ids(html) == [rating_of(meeting, tasks["a_red"]).pk]


def test_a_small_board_shows_every_row_at_once(group_client, meeting, tasks):
    html = group_client.get(board_url(meeting)).content.decode()
    assert len(row_ids(html)) == len(tasks) and "department-more" not in html and "?all=1" not in html


def test_task_titles_are_escaped_on_the_board(group_client, meeting, department_a, staff_a):
    KeyTaskFactory(year=meeting.stage.year, department=department_a, owner=staff_a, title="<script>alert(1)</script>")
    services.open_meeting(meeting=meeting, by=meeting.attendees.first())
    html = group_client.get(board_url(meeting)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;tbody" not in html and "&lt;tr" not in html


def test_an_unknown_filter_value_shows_everything(group_client, meeting):
    html = group_client.get(board_url(meeting, colour="purple", department="x", owner="")).content.decode()
    assert len(row_ids(html)) == meeting.ratings.count()


def test_the_board_shows_the_lights_of_earlier_stages(group_client, leadership, year, tasks):
    first, second = stage_of(year, 1), stage_of(year, 2)
    task = tasks["a_yellow"]
    earlier = open_meeting(first, leadership)
    for rating in earlier.ratings.select_related("task"):
        rate(earlier, rating.task, 40 if rating.task == task else 90, leadership)
    close(earlier, leadership)
    current = ReviewMeeting.objects.filter(stage=second).first() or open_meeting(second, leadership)

    html = group_client.get(board_url(current)).content.decode()

    row = re.search(rf'data-rating="{rating_of(current, task).pk}">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(EARLIER_DOT, row) == [("red", "1")]
    other = re.search(rf'data-rating="{rating_of(current, tasks["a_green"]).pk}">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<i class="light-dot (\w+)"', other) == ["green"]
    board = queries.board(current)
    assert board.earlier_numbers == [1]


def test_an_earlier_stage_without_a_rating_shows_as_missing_on_the_board(group_client, leadership, year, tasks):
    first, second, third = stage_of(year, 1), stage_of(year, 2), stage_of(year, 3)
    task = tasks["a_yellow"]
    earlier = open_meeting(first, leadership)
    for rating in earlier.ratings.select_related("task"):
        rate(earlier, rating.task, 40 if rating.task == task else 90, leadership)
    close(earlier, leadership)
    middle = ReviewMeeting.objects.filter(stage=second).first() or open_meeting(second, leadership)
    Rating.objects.filter(meeting=middle, task=task).delete()  # never on stage 2's board
    current = open_meeting(third, leadership)

    html = group_client.get(board_url(current)).content.decode()

    row = re.search(rf'data-rating="{rating_of(current, task).pk}">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(EARLIER_DOT, row) == [("red", "1"), ("missing", "2")]
    other = re.search(rf'data-rating="{rating_of(current, tasks["a_green"]).pk}">(.*?)</tr>', html, re.S).group(1)
    # stage 2's meeting, in session, opened with the confirmed score 90 as its final score
    assert re.findall(r'<i class="light-dot (\w+)"', other) == ["green", "green"]


def test_the_boards_links_are_the_addresses_reverse_gives(group_client, leadership, meeting, tasks):
    """The board builds its links from one reverse() per pattern; they must be reverse()'s."""
    html = group_client.get(board_url(meeting)).content.decode()
    for rating in meeting.ratings.all():
        row = re.search(rf'data-rating="{rating.pk}">(.*?)</tr>', html, re.S).group(1)
        links = re.findall(r'href="([^"]+)"', row)
        present = reverse("reviews:present", args=[meeting.pk])
        assert links == [reverse("tasks:detail", args=[rating.task_id]), f"{present}?rating={rating.pk}"]

    for rating in meeting.ratings.select_related("task"):
        rate(meeting, rating.task, 90, leadership)
    close(meeting, leadership)
    html = group_client.get(board_url(meeting)).content.decode()
    for rating in meeting.ratings.all():
        row = re.search(rf'data-rating="{rating.pk}">(.*?)</tr>', html, re.S).group(1)
        links = re.findall(r'href="([^"]+)"', row)
        assert links == [reverse("tasks:detail", args=[rating.task_id]), reverse("reviews:amend", args=[rating.pk])]


def test_the_board_names_owners_as_everywhere_else_and_escapes_them(group_client, meeting, department_a):
    """The board reads owners' fields as values: the name shown is str(user) all the same."""
    named = make_user("named-owner", Role.STAFF, departments=[department_a])
    named.name, named.first_name, named.last_name = "", "<b>Li</b>", "Lei"
    named.save()
    bare = make_user("bare-owner", Role.STAFF, departments=[department_a])
    bare.name = bare.first_name = bare.last_name = ""
    bare.save()
    department_a.name = "A & <i>部</i>"
    department_a.save()
    for owner in (named, bare):
        KeyTaskFactory(year=meeting.stage.year, department=department_a, owner=owner, title=f"任务{owner.pk}")
    services.open_meeting(meeting=meeting, by=meeting.attendees.first())

    html = group_client.get(board_url(meeting)).content.decode()

    assert str(named) == "<b>Li</b> Lei" and str(bare) == "bare-owner"
    for owner in (named, bare):
        row = re.search(rf"任务{owner.pk}</a></td>\s*<td>([^<]*)</td>", html).group(1)
        assert row == escape(str(owner))
    assert "<b>Li</b>" not in html and "&lt;b&gt;Li&lt;/b&gt; Lei" in html
    assert "A &amp; &lt;i&gt;部&lt;/i&gt;" in html and "<i>部</i>" not in html


def test_a_task_added_later_appears_on_the_board_as_missing_at_close(leadership, meeting, department_a, staff_a):
    late = KeyTaskFactory(year=meeting.stage.year, department=department_a, owner=staff_a, title="会后新增")
    with pytest.raises(services.ValidationError):
        close(meeting, leadership)
    assert not Rating.objects.filter(task=late).exists()  # the refused close rolled back too


# --- meeting mode ----------------------------------------------------------------------


def walk(client, meeting, everything=False):
    """Follow meeting mode's "next" links from the start; the titles in order."""
    url = present_url(meeting, everything=everything)
    titles = []
    while url:
        html = client.get(url).content.decode()
        titles.append(re.search(r'<h1 class="present-title">([^<]*)</h1>', html).group(1))
        following = re.search(r'<a rel="next" href="([^"]*)" id="next-task">', html)
        url = following.group(1).replace("&amp;", "&") if following else ""
    return titles


def test_meeting_mode_steps_through_red_then_yellow_then_missing(group_client, meeting):
    assert walk(group_client, meeting) == ["A红", "A黄", "B黄60", "B黄80", "A缺"]
    assert len(walk(group_client, meeting, everything=True)) == meeting.ratings.count()


def test_meeting_mode_prefills_the_confirmed_score_and_the_planned_next_target(group_client, meeting, tasks):
    rating = rating_of(meeting, tasks["a_red"])
    html = group_client.get(present_url(meeting, rating)).content.decode()
    assert 'name="final_score" value="50.0"' in field_block(html, "final_score")
    assert "第3阶段目标：A红" in field_block(html, "next_stage_target")
    assert f'name="version" value="{rating.version}"' in html
    assert "证据不足" in html  # the leader's reason for the adjustment is shown
    assert 'data-next="' in html


def form_of(html):
    """The rating form's fields as the page fills them in."""
    form = re.search(r'<form method="post" class="present-form" id="rating-form".*?</form>', html, re.S).group(0)
    fields = dict(re.findall(r'<input type="(?:hidden|text)" name="(\w+)" value="([^"]*)"', form))
    fields.update(re.findall(r'<textarea name="(\w+)"[^>]*>\s*([^<]*)</textarea>', form))
    return fields


def test_the_first_task_meeting_mode_shows_is_saved_from_its_own_address(group_client, meeting, tasks):
    """Entering meeting mode shows the first red task at /present/, with no ?rating= in the address."""
    url = present_url(meeting)
    html = group_client.get(url).content.decode()
    assert re.search(r'<h1 class="present-title">([^<]*)</h1>', html).group(1) == "A红"
    fields = form_of(html)
    fields.update(final_score="45", score_reason="会上核定", decision="发函督办")

    response = group_client.post(url, fields)

    red = rating_of(meeting, tasks["a_red"])
    assert response.status_code == 302 and response.url == present_url(meeting, red)
    red.refresh_from_db()
    assert (red.final_score, red.decision) == (Decimal("45.0"), "发函督办")


def test_a_final_score_is_read_as_typed_on_a_chinese_keyboard(group_client, meeting, tasks):
    rating = rating_of(meeting, tasks["a_missing"])
    assert save(group_client, meeting, rating, final_score="８５", score_reason="会上核定").status_code == 302
    rating.refresh_from_db()
    assert rating.final_score == Decimal("85.0") and rating.colour == "green"
    assert save(group_client, meeting, rating, final_score="1e2", score_reason="x").status_code == 400


def test_a_rated_task_keeps_its_place_in_the_discussion(group_client, meeting, tasks):
    """Rating a red task green does not throw the group out of the red-and-yellow list."""
    red = rating_of(meeting, tasks["a_red"])
    html = group_client.get(present_url(meeting, red)).content.decode()
    fields = form_of(html)
    fields.update(final_score="95", score_reason="补充佐证后核定")
    response = group_client.post(present_url(meeting, red), fields)
    page = group_client.get(response.url).content.decode()
    assert "待议 第 1 项，共 5 项" in page or "Task 1 of 5 to discuss" in page
    assert walk(group_client, meeting) == ["A红", "A黄", "B黄60", "B黄80", "A缺"]


def save(client, meeting, rating, **data):
    data.setdefault("score_reason", "")
    data.setdefault("decision", "")
    data.setdefault("next_stage_target", "")
    data.setdefault("version", rating.version)
    data.setdefault("rating", rating.pk)
    return client.post(present_url(meeting, rating), data)


def test_saving_a_final_score_lights_it_with_the_colour_engine(group_client, leadership, year, meeting, tasks):
    rating = rating_of(meeting, tasks["a_yellow"])

    response = save(
        group_client,
        meeting,
        rating,
        final_score="55",
        score_reason="关键节点未完成",
        decision="发函督办，约谈责任人",
        next_stage_target="6月底前完成设备联调",
    )

    assert response.status_code == 302
    rating.refresh_from_db()
    assert rating.final_score == Decimal(55)
    assert rating.colour == "red" == year_colour(rating.final_score, year)
    assert rating.score_reason == "关键节点未完成"
    assert rating.decision == "发函督办，约谈责任人"
    assert rating.next_stage_target == "6月底前完成设备联调"
    assert rating.updated_by == leadership and rating.version == 1
    entry = AuditEntry.objects.get(action="rate task")
    assert entry.before == {"final_score": "70.0", "colour": "yellow"}
    assert entry.after == {"final_score": "55.0", "colour": "red"}


@pytest.mark.parametrize(
    ("score", "colour"), [("80", "yellow"), ("80.1", "green"), ("60", "yellow"), ("59.9", "red"), ("0", "red")]
)
def test_the_missing_task_gets_its_final_score_without_a_reason(group_client, year, meeting, tasks, score, colour):
    rating = rating_of(meeting, tasks["a_missing"])
    assert save(group_client, meeting, rating, final_score=score).status_code == 302
    rating.refresh_from_db()
    assert rating.final_score == Decimal(score)
    assert rating.colour == colour == year_colour(Decimal(score), year)


def test_meeting_mode_uses_the_years_own_thresholds(leadership, department_a, staff_a):
    strict = create_assessment_year(year=2027, green_above=85, red_below=65)
    stage = stage_of(strict, 1)
    task = KeyTaskFactory(year=strict, department=department_a, owner=staff_a)
    confirm(task, stage, 90)
    meeting = open_meeting(stage, leadership)
    client = english(Client())
    client.force_login(leadership)
    for score, colour in (("82", "yellow"), ("85", "yellow"), ("85.5", "green"), ("64.5", "red"), ("65", "yellow")):
        rating = rating_of(meeting, task)
        assert save(client, meeting, rating, final_score=score, score_reason="会议评定").status_code == 302
        rating.refresh_from_db()
        assert rating.colour == colour == year_colour(Decimal(score), strict)


def test_a_final_score_other_than_the_confirmed_one_needs_a_reason(group_client, meeting, tasks):
    rating = rating_of(meeting, tasks["a_yellow"])
    response = save(group_client, meeting, rating, final_score="75", decision="提醒督促")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why the final score differs from the confirmed score." in field_block(html, "score_reason")
    rating.refresh_from_db()
    assert rating.final_score == Decimal(70) and rating.version == 0 and rating.decision == ""
    assert not AuditEntry.objects.filter(action="rate task").exists()

    assert save(group_client, meeting, rating, final_score="70", decision="提醒督促").status_code == 302
    rating.refresh_from_db()
    assert rating.decision == "提醒督促" and rating.colour == "yellow"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "This field is required."),
        ("abc", "Enter a number from 0 to 100, such as 75 or 82.5."),
        ("-1", "A score cannot be below 0."),
        ("100.1", "A score cannot be above 100."),
        ("80.55", "Use at most one decimal place, such as 82.5."),
    ],
)
def test_a_bad_final_score_is_refused(group_client, meeting, tasks, raw, message):
    rating = rating_of(meeting, tasks["a_missing"])
    response = save(group_client, meeting, rating, final_score=raw, score_reason="x")
    assert response.status_code == 400
    assert message in field_block(response.content.decode(), "final_score")
    rating.refresh_from_db()
    assert rating.final_score is None and rating.colour == "" and rating.version == 0


def test_nobody_types_a_colour(group_client, meeting, tasks):
    rating = rating_of(meeting, tasks["a_missing"])
    save(group_client, meeting, rating, final_score="90", colour="red")
    rating.refresh_from_db()
    assert rating.colour == "green"


def test_two_members_saving_the_same_rating_the_first_wins(leadership, meeting, tasks):
    other = leadership_member("leadership2", name="王副总")
    first, second = english(Client()), english(Client())
    first.force_login(leadership)
    second.force_login(other)
    rating = rating_of(meeting, tasks["a_yellow"])
    for client in (first, second):
        assert f'name="version" value="{rating.version}"' in client.get(present_url(meeting, rating)).content.decode()

    assert save(first, meeting, rating, final_score="40", score_reason="严重滞后").status_code == 302
    response = save(second, meeting, rating, final_score="78", score_reason="基本完成")

    assert response.status_code == 400
    html = response.content.decode()
    assert "leadership changed this at" in html and "yours was not saved" in html
    rating.refresh_from_db()
    assert rating.final_score == Decimal(40) and rating.colour == "red" and rating.updated_by == leadership
    assert rating.score_reason == "严重滞后"
    assert AuditEntry.objects.filter(action="rate task").count() == 1


def test_a_closed_meetings_ratings_cannot_be_changed_in_meeting_mode(group_client, leadership, meeting, tasks):
    rating = rating_of(meeting, tasks["a_missing"])
    rate(meeting, tasks["a_missing"], 70, leadership)
    close(meeting, leadership)
    red = rating_of(meeting, tasks["a_red"])

    page = group_client.get(present_url(meeting, red)).content.decode()
    assert "The meeting is closed; ratings change only by amendment." in page
    assert 'name="final_score"' not in page

    response = save(group_client, meeting, red, final_score="50", decision="改判")
    assert response.status_code == 400
    red.refresh_from_db()
    assert red.final_score == Decimal(50) and red.decision == "" and red.version == 0
    with pytest.raises(services.ValidationError):
        rate(meeting, tasks["a_green"], 10, leadership)
    rating.refresh_from_db()
    assert rating.final_score == Decimal(70)
