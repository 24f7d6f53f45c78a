"""The review board is the largest page: its SQL must not grow with the number of
departments and tasks (200 departments x 20 tasks costs the same queries as 2 x 2)."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lightboard.lights import light_of
from reviews import queries, services
from reviews.models import Confirmation, Rating, ReviewMeeting
from tasks.models import Department, KeyTask, SelfAssessment, User
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import english, stage_of

pytestmark = pytest.mark.django_db

# The whole page (session, user, roles, meeting, the board's rows, scores and earlier
# lights, the filter lists) and the htmx fragment, whatever the size of the group.
BOARD_PAGE_QUERIES = 9  # includes the header's unread count
BOARD_FRAGMENT_QUERIES = 6
BOARD_FUNCTION_QUERIES = 2


def score_for(department, task):
    """A spread of scores: every colour, some on the thresholds, some never confirmed."""
    return Decimal((department * 37 + task * 13) % 1001) / 10


def build_group(year, confirmer, departments, tasks_per_department):
    """A group of `departments` departments with `tasks_per_department` tasks each, all
    self-assessed for stage 2 (most confirmed), rated at a closed stage 1 meeting, and a
    stage 2 meeting in session; written with bulk_create so a large group stays quick."""
    tag = f"{departments}x{tasks_per_department}"
    owners = User.objects.bulk_create(
        User(username=f"owner-{tag}-{d}", name=f"责任人{d}", password="!") for d in range(departments)
    )
    depts = Department.objects.bulk_create(
        Department(code=f"d{tag}-{d:03d}", name=f"部门{tag}-{d:03d}") for d in range(departments)
    )
    tasks = KeyTaskFactory.create_many(
        {"year": year, "department": depts[d], "owner": owners[d], "title": f"任务{d:03d}-{t:02d}"}
        for d in range(departments)
        for t in range(tasks_per_department)
    )
    first, second = stage_of(year, 1), stage_of(year, 2)
    now = timezone.now()
    scores = {
        task.pk: score_for(d, t) for (d, t), task in zip(_pairs(departments, tasks_per_department), tasks, strict=True)
    }
    assessments = SelfAssessment.objects.bulk_create(
        SelfAssessment(
            task=task,
            stage=second,
            completion=scores[task.pk],
            account="已完成",
            state=SelfAssessment.State.CONFIRMED,
            submitted_at=now,
            version=2,
        )
        for task in tasks
    )
    Confirmation.objects.bulk_create(
        Confirmation(assessment=assessment, score=assessment.completion, confirmed_by=confirmer)
        for index, assessment in enumerate(assessments)
        if index % 7  # every seventh is never confirmed: "missing" on the board
    )
    earlier = ReviewMeeting.objects.create(
        stage=first, date=first.meeting_date, state=ReviewMeeting.State.CLOSED, closed_at=now
    )
    Rating.objects.bulk_create(
        Rating(
            meeting=earlier,
            task=task,
            final_score=scores[task.pk],
            colour=light_of(scores[task.pk], year),
        )
        for task in tasks
    )
    meeting = services.schedule_meeting(stage=second, date=second.meeting_date, place="", attendees=[], by=confirmer)
    return services.open_meeting(meeting=meeting, by=confirmer), tasks


def _pairs(departments, tasks_per_department):
    return [(d, t) for d in range(departments) for t in range(tasks_per_department)]


@pytest.fixture
def group_client(client, leadership):
    client.force_login(leadership)
    english(client)
    client.get("/")  # the session and language cookie settle before counting
    return client


@pytest.mark.parametrize(("departments", "tasks_per_department"), [(2, 2), (200, 20)])
def test_the_board_costs_the_same_queries_for_a_small_and_a_large_group(
    group_client, leadership, year, django_assert_max_num_queries, departments, tasks_per_department
):
    meeting, tasks = build_group(year, leadership, departments, tasks_per_department)
    url = f"/reviews/meetings/{meeting.pk}/?all=1"  # every row, not the summary a large board opens on

    with django_assert_max_num_queries(BOARD_PAGE_QUERIES):
        page = group_client.get(url)
    with django_assert_max_num_queries(BOARD_FRAGMENT_QUERIES):
        fragment = group_client.get(url + "&colour=red", HTTP_HX_REQUEST="true")
    with django_assert_max_num_queries(BOARD_FUNCTION_QUERIES):
        board = queries.board(meeting)

    assert page.status_code == 200 and fragment.status_code == 200
    html = page.content.decode()
    assert len(re.findall(r'<tr class="rating ', html)) == len(tasks)
    assert len(re.findall(r'<tbody class="department"', html)) == departments
    assert sum(board.totals.values()) == len(tasks)
    expected_missing = len(range(0, len(tasks), 7))
    assert board.totals["missing"] == expected_missing
    # every row shows its stage-1 light
    assert len(re.findall(r'<i class="light-dot (?:green|yellow|red)"', html)) == len(tasks)


def test_the_counts_match_the_scores(leadership, year):
    meeting, tasks = build_group(year, leadership, 3, 5)
    board = queries.board(meeting)
    expected = {"green": 0, "yellow": 0, "red": 0, "missing": 0}
    per_department = {}
    for index, ((d, t), task) in enumerate(zip(_pairs(3, 5), tasks, strict=True)):
        light = "missing" if index % 7 == 0 else light_of(score_for(d, t), year)
        expected[light] += 1
        per_department.setdefault(task.department_id, {"green": 0, "yellow": 0, "red": 0, "missing": 0})[light] += 1
    assert {key: board.totals[key] for key in expected} == expected
    for group in board.groups:
        assert {key: group.counts[key] for key in expected} == per_department[group.department.pk]


def test_the_same_number_of_queries_whatever_the_size(client, leadership, year):
    """Not just under a bound: exactly equal, for the page and for the htmx fragment."""
    client.force_login(leadership)
    english(client)
    client.get("/")
    counts = []
    for size in ((1, 1), (30, 4)):
        meeting, _tasks = build_group(year, leadership, *size)
        url = f"/reviews/meetings/{meeting.pk}/"
        with CaptureQueriesContext(connection) as page:
            client.get(url)
        with CaptureQueriesContext(connection) as fragment:
            client.get(url + "?colour=yellow", HTTP_HX_REQUEST="true")
        counts.append((len(page), len(fragment)))
        # the next size starts from an empty year so that only its tasks are on its board
        Rating.objects.all().delete()
        ReviewMeeting.objects.all().delete()
        Confirmation.objects.all().delete()
        SelfAssessment.objects.all().delete()
        KeyTask.objects.all().delete()
    assert counts[0] == counts[1]
