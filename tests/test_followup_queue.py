"""The discipline inspection office's queue: open cases, red before yellow, then by due date;
filters (full page and htmx fragment); counts that ignore the filters; overdue marks; and a
fixed number of queries whatever the number of cases."""

import datetime
import re

import pytest
from django.utils import timezone

from reviews.models import FollowUp, Rating, ReviewMeeting
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import english, stage_of

pytestmark = pytest.mark.django_db

URL = "/reviews/followups/"
TODAY = timezone.localdate


def days(n):
    return TODAY() + datetime.timedelta(days=n)


@pytest.fixture
def meeting(year):
    stage = stage_of(year, 2)
    return ReviewMeeting.objects.create(
        stage=stage, date=stage.meeting_date, state=ReviewMeeting.State.CLOSED, closed_at=timezone.now()
    )


def make_case(meeting, department, owner, colour, *, due, state=FollowUp.State.OPEN, inspector=None, **task_fields):
    task = KeyTaskFactory(year=meeting.stage.year, department=department, owner=owner, **task_fields)
    rating = Rating.objects.create(
        meeting=meeting, task=task, final_score={"red": 45, "yellow": 70}[colour], colour=colour
    )
    return FollowUp.objects.create(
        rating=rating,
        kind=FollowUp.Kind.SUPERVISION if colour == "red" else FollowUp.Kind.REMINDER,
        state=state,
        due_date=due,
        inspector=inspector,
    )


@pytest.fixture
def queue(meeting, department_a, department_b, staff_a, staff_b, inspector, second_inspector):
    a, b = department_a, department_b
    return {
        "yellow_early": make_case(meeting, a, staff_a, "yellow", due=days(3), inspector=inspector),
        "yellow_overdue": make_case(
            meeting, b, staff_b, "yellow", due=days(-2), state=FollowUp.State.NOTIFIED, inspector=second_inspector
        ),
        "red_late": make_case(meeting, a, staff_a, "red", due=days(20), state=FollowUp.State.NOTIFIED),
        "red_early": make_case(meeting, b, staff_b, "red", due=days(10), inspector=inspector),
        "red_due_today": make_case(
            meeting, a, staff_a, "red", due=days(0), state=FollowUp.State.INTERVIEW_SCHEDULED, inspector=inspector
        ),
        "closed_overdue": make_case(
            meeting, a, staff_a, "yellow", due=days(-30), state=FollowUp.State.CLOSED, inspector=inspector
        ),
        "escalated": make_case(meeting, b, staff_b, "red", due=days(-5), state=FollowUp.State.ESCALATED),
    }


@pytest.fixture
def inspector_client(client, inspector):
    client.force_login(inspector)
    return english(client)


def row_ids(html):
    return [int(pk) for pk in re.findall(r'<tr data-case="(\d+)"', html)]


def overdue_ids(html):
    return [int(pk) for pk in re.findall(r'<tr data-case="(\d+)" class="overdue-row"', html)]


def counts(html):
    block = re.search(r'<p class="totals" id="case-counts">(.*?)</p>', html, re.S)
    assert block, "no #case-counts"
    numbers = re.findall(r'<span class="count ?(\w*)">.*?<strong>(\d+)</strong>', block.group(1), re.S)
    return {key or "overdue": int(value) for key, value in numbers}


def ids(queue, *keys):
    return [queue[key].pk for key in keys]


def get(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


# --- order, overdue, closed -------------------------------------------------------------


def test_red_before_yellow_then_by_due_date(inspector_client, queue):
    html = get(inspector_client)
    assert row_ids(html) == ids(queue, "red_due_today", "red_early", "red_late", "yellow_overdue", "yellow_early")


def test_overdue_open_cases_are_marked(inspector_client, queue):
    html = get(inspector_client)
    assert overdue_ids(html) == ids(queue, "yellow_overdue")  # due today is not overdue yet; closed ones are not shown
    row = re.search(rf'<tr data-case="{queue["yellow_overdue"].pk}".*?</tr>', html, re.S).group(0)
    assert '<span class="late">' in row
    assert counts(html)["overdue"] == 1


def test_closed_and_escalated_cases_are_hidden_unless_filtered_by_state(inspector_client, queue):
    html = get(inspector_client)
    assert queue["closed_overdue"].pk not in row_ids(html)
    assert queue["escalated"].pk not in row_ids(html)
    closed = get(inspector_client, state="closed")
    assert row_ids(closed) == ids(queue, "closed_overdue")
    assert overdue_ids(closed) == []  # a closed case is never overdue
    assert row_ids(get(inspector_client, state="escalated")) == ids(queue, "escalated")


# --- filters and counts -----------------------------------------------------------------


def test_counts_at_the_top(inspector_client, queue):
    assert counts(get(inspector_client)) == {"red": 3, "yellow": 2, "overdue": 1}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"colour": "yellow"}, ["yellow_overdue", "yellow_early"]),
        ({"colour": "red"}, ["red_due_today", "red_early", "red_late"]),
        ({"department": "B"}, ["red_early", "yellow_overdue"]),
        ({"state": "notified"}, ["red_late", "yellow_overdue"]),
        ({"state": "interview_scheduled"}, ["red_due_today"]),
        ({"inspector": "inspector"}, ["red_due_today", "red_early", "yellow_early"]),
        ({"inspector": "inspector2"}, ["yellow_overdue"]),
        ({"colour": "red", "department": "A", "inspector": "inspector"}, ["red_due_today"]),
        ({"colour": "green"}, ["red_due_today", "red_early", "red_late", "yellow_overdue", "yellow_early"]),
        ({"state": "nonsense"}, ["red_due_today", "red_early", "red_late", "yellow_overdue", "yellow_early"]),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_filters_narrow_the_rows_but_not_the_counts(
    inspector_client, queue, department_a, department_b, inspector, second_inspector, params, expected, htmx
):
    values = {
        "A": department_a.pk,
        "B": department_b.pk,
        "inspector": inspector.pk,
        "inspector2": second_inspector.pk,
    }
    params = {
        key: values.get(value, value) if key in ("department", "inspector") else value for key, value in params.items()
    }
    headers = {"HX-Request": "true"} if htmx else {}
    response = inspector_client.get(URL, params, headers=headers)
    assert response.status_code == 200
    html = response.content.decode()
    assert row_ids(html) == ids(queue, *expected)
    assert counts(html) == {"red": 3, "yellow": 2, "overdue": 1}
    if htmx:
        assert html.lstrip().startswith('<div id="queue">')
        assert "<html" not in html and 'class="filters"' not in html
    else:
        assert "<html" in html and 'class="filters"' in html


def test_the_filter_form_keeps_the_chosen_values(inspector_client, queue, department_b):
    html = get(inspector_client, colour="yellow", department=department_b.pk, state="notified")
    assert '<option value="yellow" selected>' in html
    assert f'<option value="{department_b.pk}" selected>' in html
    assert '<option value="notified" selected>' in html


def test_an_empty_queue(inspector_client, year):
    html = get(inspector_client)
    assert row_ids(html) == []
    assert counts(html) == {"red": 0, "yellow": 0, "overdue": 0}


def test_serious_cases_are_flagged_in_the_queue(inspector_client, queue):
    FollowUp.objects.filter(pk=queue["red_early"].pk).update(serious=True, serious_reason="Red twice.")
    row = re.search(rf'<tr data-case="{queue["red_early"].pk}".*?</tr>', get(inspector_client), re.S).group(0)
    assert 'class="serious"' in row and "Red twice." in row


@pytest.mark.parametrize("who", ["staff_a", "leader_a", "leadership", "no_role"])
def test_only_inspectors_open_the_queue(client, request, queue, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert client.get(URL, headers={"HX-Request": "true"}).status_code == 403


def test_anonymous_users_go_to_the_login_page(client, queue):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- a fixed number of queries ---------------------------------------------------------


# Session, user, roles, unread count, commendation banner, the counts by colour with the
# overdue count (one grouped query), the page's ids with the total, its cases, departments,
# inspectors: 10 (11 before the counts and the overdue count came in one query).
QUEUE_PAGE_QUERIES = 10  # counts, overdue and total are counted in the database; one page is loaded
QUEUE_FRAGMENT_QUERIES = 6


@pytest.fixture
def many(meeting, department_a, department_b, staff_a, staff_b, inspector, second_inspector):
    def make(n):
        departments = [(department_a, staff_a), (department_b, staff_b)]
        for i in range(n):
            department, owner = departments[i % 2]
            make_case(
                meeting,
                department,
                owner,
                "red" if i % 3 == 0 else "yellow",
                due=days(i % 7 - 3),
                state=[FollowUp.State.OPEN, FollowUp.State.NOTIFIED, FollowUp.State.RECTIFYING][i % 3],
                inspector=[inspector, second_inspector, None][i % 3],
            )

    return make


@pytest.mark.parametrize("n", [3, 100])
def test_the_queue_page_runs_a_fixed_number_of_queries(inspector_client, many, n, django_assert_max_num_queries):
    many(n)
    with django_assert_max_num_queries(QUEUE_PAGE_QUERIES):
        html = get(inspector_client)
    assert len(row_ids(html)) == n


@pytest.mark.parametrize("n", [3, 100])
def test_the_queue_fragment_runs_a_fixed_number_of_queries(
    inspector_client, many, n, department_a, django_assert_max_num_queries
):
    many(n)
    with django_assert_max_num_queries(QUEUE_FRAGMENT_QUERIES):
        response = inspector_client.get(URL, {"department": department_a.pk}, headers={"HX-Request": "true"})
    assert len(row_ids(response.content.decode())) == (n + 1) // 2


def test_a_long_queue_comes_a_hundred_at_a_time_red_first(inspector_client, many):
    from reviews.queries import CASE_PAGE_SIZE

    many(CASE_PAGE_SIZE + 20)
    first = inspector_client.get(URL).content.decode()
    second = inspector_client.get(URL, {"page": "2"}).content.decode()
    shown = row_ids(first) + row_ids(second)
    assert len(row_ids(first)) == CASE_PAGE_SIZE and len(shown) == CASE_PAGE_SIZE + 20
    assert len(set(shown)) == len(shown)
    colours = list(FollowUp.objects.filter(pk__in=shown).values_list("pk", "rating__colour"))
    by_pk = dict(colours)
    ordered = [by_pk[pk] for pk in shown]
    assert ordered == sorted(ordered, key=lambda colour: 0 if colour == "red" else 1)
    assert counts(first) == counts(second)


def test_a_later_page_runs_as_many_queries_and_keeps_each_rows_marks(
    inspector_client, many, django_assert_max_num_queries
):
    """The page's rows are chosen first and their counts worked out for them alone: a later page
    costs what the first does, and its rows still say how often their owner was red."""
    from reviews.queries import CASE_PAGE_SIZE

    many(CASE_PAGE_SIZE + 20)
    with django_assert_max_num_queries(QUEUE_PAGE_QUERIES):
        html = get(inspector_client, page="2")
    shown = row_ids(html)
    assert len(shown) == 20
    for case in FollowUp.objects.filter(pk__in=shown).select_related("rating__task"):
        reds = Rating.objects.filter(colour="red", task__owner_id=case.rating.task.owner_id).count()
        row = re.search(rf'<tr data-case="{case.pk}".*?</tr>', html, re.S).group(0)
        assert f"owner red {reds} times" in row


def test_a_page_past_the_last_shows_the_last(inspector_client, many):
    from reviews.queries import CASE_PAGE_SIZE

    many(CASE_PAGE_SIZE + 20)
    html = get(inspector_client, page="9")
    assert len(row_ids(html)) == 20
    assert f"Page 2 of 2 ({CASE_PAGE_SIZE + 20} cases)" in html
    assert counts(html) == counts(get(inspector_client))


def test_a_filter_that_matches_nothing_shows_an_empty_queue_with_its_counts(inspector_client, queue, department_a):
    html = get(inspector_client, department=department_a.pk, state=FollowUp.State.ESCALATED)
    assert row_ids(html) == [] and "No cases." in html
    assert counts(html) == counts(get(inspector_client))
