"""Ranking of the departments and the 红黑榜 (issue 14, points 2 and 6, in part): weighted
scores on a hand-computed example, ties sharing a rank, and an honour roll that only the
leadership group publishes, to everyone, frozen from then on."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lightboard.roles import Role
from outbox.models import Notification
from reports import queries
from reports.models import HonourRoll
from reviews import services as review_services
from reviews.models import Rating
from tasks.models import Department, User
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, english, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(year, department_a, department_b, staff_a, staff_b, leader_a, leadership):
    """A: weights 2 and 1 at 90 and 60 -> (180 + 60) / 3 = 80.0 (a green, a yellow).
    B: 85 and 50 -> 67.5 (a green, a red). C: weight 3 at 95 -> 95.0. D: 80 -> 80.0 (a yellow)."""
    c = Department.objects.create(code="C", name="销售部", division_leader=leader_a)
    d = Department.objects.create(code="D", name="人力资源部", division_leader=leader_a)
    staff_c = make_user("staff_c", Role.STAFF, departments=[c])
    staff_d = make_user("staff_d", Role.STAFF, departments=[d])
    scores = {}
    for department, owner, weight, score in (
        (department_a, staff_a, 2, 90), (department_a, staff_a, 1, 60),
        (department_b, staff_b, 1, 85), (department_b, staff_b, 1, 50),
        (c, staff_c, 3, 95), (d, staff_d, 1, 80),
    ):  # fmt: skip
        task = KeyTaskFactory(year=year, department=department, owner=owner, weight=weight)
        scores[task.pk] = score
    meeting = open_meeting(stage_of(year, 2), leadership)
    for rating in meeting.ratings.select_related("task"):
        rate(meeting, rating.task, scores[rating.task_id], leadership, decision="督办")
    return close(meeting, leadership)


def test_weighted_scores_rank_the_departments_and_ties_share_a_place(meeting):
    by_score = [(u.rank, u.department.code, u.score) for u in queries.ranking(meeting.stage)]
    assert by_score == [
        (1, "C", Decimal("95.0")),
        (2, "A", Decimal("80.0")),
        (2, "D", Decimal("80.0")),
        (4, "B", Decimal("67.5")),
    ]
    by_lights = [(u.rank, u.department.code) for u in queries.ranking(meeting.stage, by="lights")]
    # C: no red, no yellow; A and D: one yellow (A has a green more); B: a red.
    assert by_lights == [(1, "C"), (2, "A"), (3, "D"), (4, "B")]


def test_the_ranking_page(client, meeting, leader_b):
    client.force_login(leader_b)
    english(client)
    html = client.get("/reports/ranking/?stage=2").content.decode()
    rows = re.findall(r'<tr data-department="(\w)"><td data-label="Rank" class="num">(\d+)</td>', html)
    assert rows == [("C", "1"), ("A", "2"), ("D", "2"), ("B", "4")]
    assert "Prepare the honour roll" not in html  # the leadership group's to publish


def test_the_leadership_publishes_the_honour_roll_to_everyone_and_it_stays_frozen(
    client, meeting, leadership, staff_a, inspector
):
    client.force_login(staff_a)
    assert client.post(f"/reports/honour/new/{meeting.pk}/").status_code == 403
    client.force_login(leadership)
    english(client)
    preview = client.get(f"/reports/honour/new/{meeting.pk}/").content.decode()
    assert "Approve and publish" in preview and not HonourRoll.objects.exists()
    response = client.post(f"/reports/honour/new/{meeting.pk}/")
    roll = HonourRoll.objects.get()
    assert response["Location"] == f"/reports/honour/{roll.pk}/"
    assert [entry["score"] for entry in roll.commended] == ["95.0", "90.0", "85.0"]
    assert [entry["score"] for entry in roll.named] == ["50.0"]
    told = Notification.objects.filter(kind="honour_roll")
    assert told.count() == User.objects.filter(is_active=True).count()
    assert set(told.values_list("link", flat=True)) == {f"/reports/honour/{roll.pk}/"}
    # Published once; a later amendment does not change it.
    assert client.post(f"/reports/honour/new/{meeting.pk}/").status_code == 302
    assert HonourRoll.objects.count() == 1
    red = Rating.objects.get(meeting=meeting, final_score=50)
    review_services.amend_rating(rating_id=red.pk, version=red.version, final_score=85, reason="复核", by=leadership)
    roll.refresh_from_db()
    assert [entry["score"] for entry in roll.named] == ["50.0"]
    client.force_login(staff_a)
    page = client.get(f"/reports/honour/{roll.pk}/").content.decode()
    assert "50.0" in page.split('id="named"')[1]


@pytest.fixture
def group(year, department_a, staff_a, leader_a, leadership):
    """A at the top (90, weight 1); subsidiary S (its own task 70, weight 1) with S1 (60,
    weight 2) and S2, which has S2a (100, weight 1): three levels below the group."""
    s = Department.objects.create(code="S", name="矿业公司", kind="subsidiary", division_leader=leader_a)
    s1 = Department.objects.create(code="S1", name="矿业公司采矿部", parent=s, division_leader=leader_a)
    s2 = Department.objects.create(code="S2", name="矿业公司选矿部", parent=s, division_leader=leader_a)
    s2a = Department.objects.create(code="S2a", name="选矿一车间", parent=s2, division_leader=leader_a)
    scores = {}
    for unit, weight, score in ((department_a, 1, 90), (s, 1, 70), (s1, 2, 60), (s2a, 1, 100)):
        owner = make_user(f"owner_{unit.code}", Role.STAFF, departments=[unit])
        task = KeyTaskFactory(year=year, department=unit, owner=owner, weight=weight)
        scores[task.pk] = score
    meeting = open_meeting(stage_of(year, 2), leadership)
    for rating in meeting.ratings.select_related("task"):
        rate(meeting, rating.task, scores[rating.task_id], leadership, decision="督办")
    return close(meeting, leadership), {unit.code: unit for unit in (s, s1, s2, s2a)}


def test_each_level_rolls_up_everything_below_it_by_task_weight(group):
    meeting, units = group
    # The top: A 90.0; S (70 + 2 x 60 + 100) / (1 + 2 + 1) = 72.5 with its lights added up.
    top = queries.ranking(meeting.stage)
    assert [(u.rank, u.department.code, u.score) for u in top] == [(1, "A", Decimal("90.0")), (2, "S", Decimal("72.5"))]
    # S: 70 yellow, 60 yellow, 100 green.
    assert (top[1].counts["green"], top[1].counts["yellow"], top[1].counts["red"]) == (1, 2, 0)
    assert top[1].has_units_below and not top[0].has_units_below
    # Inside S: S2 (only S2a below it) 100.0 first, then S's own task 70.0, then S1 60.0.
    inside = queries.ranking(meeting.stage, unit_id=units["S"].pk)
    assert [(u.rank, u.department.code, u.score, u.own) for u in inside] == [
        (1, "S2", Decimal("100.0"), False),
        (2, "S", Decimal("70.0"), True),
        (3, "S1", Decimal("60.0"), False),
    ]
    assert [u.department.code for u in queries.ranking(meeting.stage, unit_id=units["S2"].pk)] == ["S2a"]


def test_the_group_drills_down_the_ranking(client, group, leadership):
    meeting, units = group
    client.force_login(leadership)
    english(client)
    html = client.get("/reports/ranking/?stage=2").content.decode()
    assert 'href="?stage=2&amp;by=score&amp;unit=S"' in html
    html = client.get("/reports/ranking/?stage=2&by=score&unit=S").content.decode()
    crumbs = html.split('id="ranking-level"')[1].split("</p>")[0]
    assert "The group" in crumbs and "矿业公司" in crumbs
    rows = re.findall(r'<tr data-department="(\w+)">', html)
    assert rows == ["S2", "S", "S1"]  # S's own task between its units


def test_the_ranking_runs_the_same_queries_however_deep_and_wide(client, group, leadership, leader_a):
    meeting, units = group
    client.force_login(leadership)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/reports/ranking/?stage=2&unit=S").status_code == 200
        return len(captured)

    before = count()
    parent = units["S2a"]
    for depth in range(4):  # four more levels, and ten more units beside them
        parent = Department.objects.create(
            code=f"D{depth}", name=f"下级{depth}", parent=parent, division_leader=leader_a
        )
        for n in range(3):
            Department.objects.create(
                code=f"W{depth}{n}", name=f"平级{depth}{n}", parent=units["S"], division_leader=leader_a
            )
    assert count() == before


def test_the_heat_map_reads_at_each_level_of_the_tree(client, group, leadership):
    meeting, units = group
    top = queries.year_overview(meeting.stage.year)
    assert [(row.department.code, dict(row.cells[0].counts)) for row in top.rows] == [
        ("A", {"green": 1}),
        ("S", {"yellow": 2, "green": 1}),
    ]
    inside = queries.year_overview(meeting.stage.year, unit_id=units["S"].pk)
    assert [(row.department.code, row.own) for row in inside.rows] == [("S", True), ("S1", False), ("S2", False)]
    client.force_login(leadership)
    english(client)
    html = client.get("/reports/").content.decode()
    assert 'href="?unit=S"' in html
    html = client.get("/reports/?unit=S").content.decode()
    assert "矿业公司" in html.split('id="overview-level"')[1].split("</p>")[0]
    assert re.findall(r'<tr data-department="(\w+)"( data-own)?>', html) == [("S", " data-own"), ("S1", ""), ("S2", "")]
