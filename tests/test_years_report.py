"""Year on year (issue 14, point 3, in part): per department and for the group, each year's
green share, lights, repeat reds, cases opened and closed, and letters issued."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews import cases
from reviews.models import FollowUp
from tasks import services
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, english, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db


def hold(year, number, scores, leadership):
    """A closed meeting of `year`'s stage `number`, each task (by title) at its score."""
    meeting = open_meeting(stage_of(year, number), leadership)
    for rating in meeting.ratings.select_related("task"):
        rate(meeting, rating.task, scores.get(rating.task.title, 90), leadership, decision="督办")
    return close(meeting, leadership)


def row(html, code, year):
    match = re.search(rf'<tr data-department="{code}" data-year="{year}">(.*?)</tr>', html, re.S)
    assert match, (code, year)
    text = re.sub(r"<svg.*?</svg>", " ", match.group(1), flags=re.S)  # the bars' tooltips aside
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


def test_each_department_and_the_group_year_by_year(
    client, year, department_a, department_b, staff_a, staff_b, leadership, inspector
):
    last_year = services.create_assessment_year(year=2025)
    for y in (last_year, year):
        KeyTaskFactory(year=y, department=department_a, owner=staff_a, title="冶炼回收率提升")
        KeyTaskFactory(year=y, department=department_b, owner=staff_b, title="应收账款清收")
    hold(last_year, 5, {"冶炼回收率提升": 45}, leadership)
    hold(last_year, 6, {"冶炼回收率提升": 50}, leadership)  # red twice: a repeat red
    hold(year, 1, {"冶炼回收率提升": 70, "应收账款清收": 45}, leadership)
    for case in FollowUp.objects.filter(rating__meeting__stage__year=last_year, rating__colour="red"):
        cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    client.force_login(leadership)
    english(client)
    html = client.get("/reports/years/").content.decode()
    # Newest year first; the department named on its first row.
    # Lights per stage: the stage, then its green/yellow/red counts.
    assert row(html, "A", 2026) == "生产运营部 2026 0.0% Green light 0 Yellow light 1 Red light 0 1 0/1/0 0 1 / 0 0"
    # Each later year names its department too, for a screen reader (visually hidden).
    later = "生产运营部 2025 0.0% Green light 0 Yellow light 0 Red light 2 5 0/0/1 6 0/0/1 1 2 / 0 2"
    assert row(html, "A", 2025) == later
    assert row(html, "B", 2026).startswith("财务部 2026 0.0% Green light 0 Yellow light 0 Red light 1")
    assert row(html, "B", 2025).startswith("财务部 2025 100.0% Green light 2 Yellow light 0 Red light 0")
    group = re.findall(r'<tr class="group" data-year="(\d+)">', html)
    assert group == ["2026", "2025"]


def test_the_page_runs_the_same_queries_whatever_the_number_of_years_and_tasks(
    client, year, department_a, staff_a, leadership
):
    seen = []
    for y, tasks in ((2024, 1), (2025, 12)):
        earlier = services.create_assessment_year(year=y)
        for n in range(tasks):
            KeyTaskFactory(year=earlier, department=department_a, owner=staff_a, title=f"任务{y}-{n}")
        hold(earlier, 1, {f"任务{y}-0": 45}, leadership)
        client.force_login(leadership)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/reports/years/").status_code == 200
        seen.append(len(captured))
    assert seen[0] == seen[1], seen
