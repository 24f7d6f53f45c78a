"""The reports against hand-computed demo-sized data: the year overview (heat map, counts per
stage, the departments with the most red and yellow results), the department scorecard
(lights, transitions, weighted averages, cases), the early warning rule, the charts, the
Excel exports, who may read them and how many queries they run.

The demo year 2026 (green above 80, red below 60; 60 and 80 are yellow) has three closed
meetings. Department A: a1 (weight 1), a2 (weight 2) and a3 (weight 1, added after the
second meeting, so it has one result). Department B: b1, b2 (weight 1). Department C: no
task. Final scores and lights:

            stage 1        stage 2        stage 3
    a1      90 green       70 yellow      95 green      improved (yellow -> green)
    a2      60 yellow      85 green       70 yellow     worsened (green -> yellow)
    a3      -              -              65 yellow     (one result: no transition)
    b1      85 green       40 red         75 yellow     improved (red -> yellow)
    b2      50 red         55 red         50 red        unchanged

Weighted averages of A: stage 1 (90 + 2*60)/3 = 70.0; stage 2 (70 + 2*85)/3 = 80.0;
stage 3 (95 + 2*70 + 65)/4 = 75.0. Overall per stage: stage 1 2/1/1 (green 2 of 4 =
50.0%), stage 2 1/1/2, stage 3 1/3/1 (20.0% / 60.0% / 20.0%). Red and yellow results: B
4 red + 1 yellow, A 0 red + 4 yellow; C none."""

import datetime
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from lightboard.colour import classify
from lightboard.lights import COLOUR_KEYS
from lightboard.roles import Role
from reports import charts, queries
from reviews.models import FollowUp, Rating, ReviewMeeting
from tasks import services
from tasks.models import Department, KeyTask, SelfAssessment, Stage
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, confirm, leadership_member, open_meeting, rate, stage_of, submit

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
TODAY = datetime.date(2026, 8, 20)  # stage 4 of 2026 (July-August); its self-assessment is due 5 September
LATE = datetime.date(2026, 9, 10)  # stage 4's self-assessment is late; its meeting is still to come


@pytest.fixture
def chair(db):
    return leadership_member("chair", name="陈主任")


@pytest.fixture
def department_c(db):
    return Department.objects.create(
        code="C", name="安全环保部", division_leader=make_user("leader_c", Role.DIVISION_LEADER)
    )


@pytest.fixture
def demo(year, chair, department_a, department_b, department_c, staff_a, staff_b):
    """The year of the module docstring: three closed meetings."""
    task = {
        "a1": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="a1 设备完好率", weight=1),
        "a2": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="a2 冶炼回收率", weight=2),
        "b1": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="b1 应收账款", weight=1),
        "b2": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="b2 成本压降", weight=1),
    }
    scores = {
        1: {"a1": 90, "a2": 60, "b1": 85, "b2": 50},
        2: {"a1": 70, "a2": 85, "b1": 40, "b2": 55},
        3: {"a1": 95, "a2": 70, "a3": 65, "b1": 75, "b2": 50},
    }
    meetings = {}
    for number in (1, 2, 3):
        if number == 3:
            task["a3"] = KeyTaskFactory(
                year=year, department=department_a, owner=staff_a, title="a3 新增任务", weight=1
            )
        meeting = open_meeting(stage_of(year, number), chair)
        for key, score in scores[number].items():
            rate(meeting, task[key], score, chair)
        meetings[number] = close(meeting, chair)
    return {"year": year, "task": task, "meetings": meetings, "a": department_a, "b": department_b}


def html_of(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def svgs_in(html):
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", html, re.S)]


# --- the year overview -------------------------------------------------------------------


def test_the_overview_counts_each_department_and_stage(demo):
    overview = queries.year_overview(demo["year"])
    assert overview.stage_numbers == [1, 2, 3]
    rows = {row.department.code: row for row in overview.rows}
    assert list(rows) == ["A", "B", "C"]
    counts = {code: [[cell.counts[c] for c in COLOUR_KEYS] for cell in row.cells] for code, row in rows.items()}
    assert counts == {
        "A": [[1, 1, 0], [1, 1, 0], [1, 2, 0]],
        "B": [[1, 0, 1], [0, 0, 2], [0, 1, 1]],
        "C": [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
    }
    assert rows["A"].cells[0].shares == {"green": 50.0, "yellow": 50.0, "red": 0}
    assert rows["A"].cells[2].shares == {"green": 33.3, "yellow": 66.7, "red": 0}
    assert rows["B"].cells[1].shares == {"green": 0, "yellow": 0, "red": 100.0}
    assert rows["C"].cells[0].total == 0 and rows["C"].cells[0].shares == {"green": 0, "yellow": 0, "red": 0}
    per_stage = {n: [overview.per_stage[n][c] for c in COLOUR_KEYS] for n in overview.stage_numbers}
    assert per_stage == {1: [2, 1, 1], 2: [1, 1, 2], 3: [1, 3, 1]}
    assert queries.Cell(overview.per_stage[1], 1).share("green") == 50.0  # 2 green of 4
    assert queries.Cell(overview.per_stage[3], 3).shares == {"green": 20.0, "yellow": 60.0, "red": 20.0}


def test_the_departments_with_the_most_red_and_yellow_results_come_first(demo):
    worst = queries.year_overview(demo["year"]).worst
    assert [(row.department.code, row.totals["red"], row.totals["yellow"]) for row in worst] == [
        ("B", 4, 1),
        ("A", 0, 4),
    ]  # C has none and is not listed


def test_the_overview_page_shows_the_counts_and_links_each_cell_to_the_scorecard(client, demo, chair):
    client.force_login(chair)
    html = html_of(client.get("/reports/"))
    row_b = html.split('data-department="B"')[1].split("</tr>")[0]
    cells = re.findall(
        r'data-stage="(\d)"><a href="([^"]+)">.*?c-green">(\d+)<.*?c-yellow">(\d+)<.*?c-red">(\d+)<', row_b, re.S
    )
    assert cells == [
        ("1", "/reports/departments/B/?stage=1#stage-1", "1", "0", "1"),
        ("2", "/reports/departments/B/?stage=2#stage-2", "0", "0", "2"),
        ("3", "/reports/departments/B/?stage=3#stage-3", "0", "1", "1"),
    ]
    row_c = html.split('data-department="C"')[1].split("</tr>")[0]
    assert row_c.count("—") == 3 and "c-green" not in row_c
    total_1 = html.split('id="stage-total-1"')[1].split("</td>")[0]
    assert re.findall(r"(\d+)</span>", total_1) == ["2", "1", "1"]
    assert "绿灯 2" in total_1 and "黄灯 1" in total_1 and "红灯 1" in total_1
    worst = html.split('id="worst"')[1].split("</table>")[0]
    assert worst.index("财务部") < worst.index("生产运营部") and "安全环保部" not in worst


def test_without_a_closed_meeting_the_overview_says_so(client, year, chair):
    client.force_login(chair)
    html = html_of(client.get("/reports/"))
    assert 'id="heatmap"' not in html and "<h1>" in html


# --- the department scorecard ------------------------------------------------------------


def test_the_scorecard_shows_lights_transitions_averages_and_counts(demo):
    card = queries.department_scorecard(demo["year"], demo["a"])
    task = demo["task"]
    rows = {row.task.pk: row for row in card.rows}
    assert [row.task.pk for row in card.rows] == [task["a1"].pk, task["a2"].pk, task["a3"].pk]
    assert rows[task["a1"].pk].lights == ["green", "yellow", "green"]
    assert rows[task["a2"].pk].lights == ["yellow", "green", "yellow"]
    assert rows[task["a3"].pk].lights == ["missing", "missing", "yellow"]
    assert rows[task["a1"].pk].scores == [Decimal("90"), Decimal("70"), Decimal("95")]
    assert rows[task["a1"].pk].transition == "improved"
    assert rows[task["a2"].pk].transition == "worsened"
    assert rows[task["a3"].pk].transition is None  # one result: nothing to compare
    assert card.transitions == {"improved": 1, "worsened": 1}
    assert card.averages == [Decimal("70.0"), Decimal("80.0"), Decimal("75.0")]
    assert [[counts[c] for c in COLOUR_KEYS] for counts in card.counts] == [[1, 1, 0], [1, 1, 0], [1, 2, 0]]

    card_b = queries.department_scorecard(demo["year"], demo["b"])
    assert [row.transition for row in card_b.rows] == ["improved", "unchanged"]
    assert card_b.averages == [Decimal("67.5"), Decimal("47.5"), Decimal("62.5")]


def test_the_scorecard_lists_the_departments_follow_up_cases(demo):
    task = demo["task"]
    cases = queries.department_scorecard(demo["year"], demo["a"]).cases
    # Every yellow or red result of A, latest stage first: a2 and a3 at stage 3, a1 at 2, a2 at 1.
    assert [(case.rating.task_id, case.rating.meeting.stage.number) for case in cases] == [
        (task["a2"].pk, 3),
        (task["a3"].pk, 3),
        (task["a1"].pk, 2),
        (task["a2"].pk, 1),
    ]
    assert {case.kind for case in cases} == {FollowUp.Kind.REMINDER}
    cases_b = queries.department_scorecard(demo["year"], demo["b"]).cases
    assert len(cases_b) == 5 and {case.rating.task.department_id for case in cases_b} == {demo["b"].pk}


def test_the_scorecard_page_shows_the_same_figures(client, demo, leader_b):
    client.force_login(leader_b)  # a division leader reads another department's scorecard too
    html = html_of(client.get("/reports/departments/A/?stage=2"))
    assert 'id="stage-2" class="highlight"' in html
    averages = html.split('id="averages"')[1].split("</tr>")[0]
    assert re.findall(r'data-stage="\d">([^<]+)<', averages) == ["70.0", "80.0", "75.0"]
    counts = html.split('id="counts"')[1].split("</tr>")[0]
    assert re.findall(r'data-stage="\d">([^<]+)<', counts) == ["1/1/0", "1/1/0", "1/2/0"]
    transitions = html.split('id="transitions"')[1].split("</p>")[0]
    assert re.findall(r"<strong>(\d+)</strong>", transitions) == ["1", "1", "0"]
    a3 = html.split(f'data-task="{demo["task"]["a3"].pk}"')[1].split("</tr>")[0]
    assert a3.count("light-dot missing") == 2 and "light-dot yellow" in a3 and "65.0" in a3
    cases = html.split('id="department-cases"')[1].split("</table>")[0]
    assert cases.count("<tr>") == 1 + 4  # the header and four cases


def test_an_unknown_department_is_404(client, demo, chair):
    client.force_login(chair)
    assert client.get("/reports/departments/nope/").status_code == 404


def test_shares_and_averages_round_half_up_as_by_hand(year, department_a, staff_a, chair):
    assert queries.Cell(Counter(green=1, yellow=15), 1).shares == {"green": 6.3, "yellow": 93.8, "red": 0.0}
    assert queries.Cell(Counter(green=1, yellow=1, red=1), 1).shares == {"green": 33.3, "yellow": 33.3, "red": 33.3}
    first = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    second = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    meeting = open_meeting(stage_of(year, 1), chair)
    rate(meeting, first, "80.1", chair)
    rate(meeting, second, "80.0", chair)
    close(meeting, chair)
    assert queries.department_scorecard(year, department_a).averages == [Decimal("80.1")]  # 80.05


def test_a_transition_needs_two_lights():
    assert queries.transition("red", "yellow") == "improved"
    assert queries.transition("yellow", "green") == "improved"
    assert queries.transition("green", "red") == "worsened"
    assert queries.transition("yellow", "yellow") == "unchanged"
    assert queries.transition("missing", "green") is None
    assert queries.transition(None, "green") is None


# --- the early warning -------------------------------------------------------------------


@pytest.fixture
def stage_4_scores(demo, department_c, staff_a):
    """Stage 4 before its meeting. Stage 3 left a1 green, a2/a3/b1 yellow and b2 red."""
    task = demo["task"]
    stage = stage_of(demo["year"], 4)
    confirm(task["a1"], stage, 70, score=85)  # self 70 (yellow), confirmed 85 (green): not listed
    confirm(task["a2"], stage, 90, score=55)  # self 90, confirmed 55: likely red
    submit(task["a3"], stage, 70)  # submitted, not confirmed yet: likely yellow from the self score
    # b1: no score, yellow at stage 3: on watch (or late once the due date has passed)
    submit(task["b2"], stage, 95)  # red at stage 3, but now green: not listed
    task["c1"] = KeyTaskFactory(year=demo["year"], department=department_c, owner=staff_a, title="c1 新任务")
    SelfAssessment.objects.create(task=task["c1"], stage=stage, completion=50)  # a draft is no score
    return task


def test_the_early_warning_follows_the_stated_rule(stage_4_scores, demo):
    task = stage_4_scores
    stage, warnings = queries.early_warning(demo["year"], TODAY)
    assert stage.number == 4
    listed = [(w.task.pk, w.kind, w.score, w.source, w.previous) for w in warnings]
    assert listed == [
        (task["a2"].pk, "red", Decimal("55.0"), "confirmed", "yellow"),
        (task["a3"].pk, "yellow", Decimal("70.0"), "self", "yellow"),
        (task["b1"].pk, "watch", None, "previous", "yellow"),
    ]


def test_after_the_due_date_a_task_without_a_score_is_late(stage_4_scores, demo):
    task = stage_4_scores
    stage, warnings = queries.early_warning(demo["year"], LATE)
    assert stage.number == 4
    assert [(w.task.pk, w.kind) for w in warnings] == [
        (task["a2"].pk, "red"),
        (task["b1"].pk, "late"),
        (task["c1"].pk, "late"),
        (task["a3"].pk, "yellow"),
    ]


def test_the_warning_page_explains_the_rule_and_lists_the_tasks(client, stage_4_scores, demo, chair):
    task = stage_4_scores
    # Whatever today's date (after stage 4 began), stage 4's self-assessment is not due yet.
    today = timezone.localdate()
    Stage.objects.filter(year=demo["year"], number=4).update(
        self_assessment_due=today + datetime.timedelta(days=10),
        meeting_date=today + datetime.timedelta(days=15),
    )
    client.force_login(chair)
    html = html_of(client.get("/reports/warning/"))
    assert 'id="rule"' in html and html.split('id="rule"')[1].count("<li>") == 3
    kinds = re.findall(r'data-task="(\d+)" data-kind="(\w+)"', html)
    assert kinds == [(str(task["a2"].pk), "red"), (str(task["a3"].pk), "yellow"), (str(task["b1"].pk), "watch")]
    a2 = html.split(f'data-task="{task["a2"].pk}"')[1].split("</tr>")[0]
    assert "55.0%" in a2 and "确认" in a2


def test_before_the_years_first_stage_there_is_no_warning(year):
    assert queries.early_warning(year, datetime.date(2025, 12, 1)) == (None, [])


def test_without_an_upcoming_meeting_the_warning_page_says_so(client, chair):
    services.create_assessment_year(year=timezone.localdate().year + 1)  # none of its stages has begun
    client.force_login(chair)
    html = html_of(client.get("/reports/warning/"))
    assert 'id="warnings"' not in html and 'id="rule"' in html


# --- who may read the reports ------------------------------------------------------------


def report_urls(demo):
    return [
        "/reports/",
        "/reports/overview.xlsx",
        "/reports/departments/A/",
        "/reports/departments/A/scorecard.xlsx",
        "/reports/warning/",
        f"/reports/tasks/{demo['task']['a1'].pk}/",
    ]


def test_staff_and_users_without_a_role_get_403_on_every_report(client, demo, staff_a, no_role):
    for user in (staff_a, no_role):
        client.force_login(user)
        assert {url: client.get(url).status_code for url in report_urls(demo)} == dict.fromkeys(report_urls(demo), 403)


def test_leaders_leadership_and_inspectors_read_every_report(client, demo, leader_b, chair, inspector):
    for user in (leader_b, chair, inspector):
        client.force_login(user)
        assert {url: client.get(url).status_code for url in report_urls(demo)} == dict.fromkeys(report_urls(demo), 200)


def test_anonymous_visitors_are_sent_to_sign_in(client, demo):
    for url in report_urls(demo):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_the_chart_of_another_departments_task_is_readable(client, demo, leader_b):
    client.force_login(leader_b)
    html = html_of(client.get(f"/reports/tasks/{demo['task']['a2'].pk}/"))
    assert "a2 冶炼回收率" in html and 'id="task-chart"' in html


def test_an_unknown_task_chart_is_404(client, demo, chair):
    client.force_login(chair)
    assert client.get("/reports/tasks/999999/").status_code == 404


# --- exports -----------------------------------------------------------------------------


def workbook_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_the_overview_export_holds_the_pages_counts(client, demo, chair):
    client.force_login(chair)
    sheet = workbook_of(client.get("/reports/overview.xlsx")).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [header.split()[-1] for header in rows[0][1:4]] == ["绿灯", "黄灯", "红灯"]
    assert all("1" in header for header in rows[0][1:4]) and all("3" in header for header in rows[0][7:10])
    assert len(rows[0]) == 1 + 3 * 3
    assert rows[1:] == [
        ("生产运营部", 1, 1, 0, 1, 1, 0, 1, 2, 0),
        ("财务部", 1, 0, 1, 0, 0, 2, 0, 1, 1),
        ("安全环保部", 0, 0, 0, 0, 0, 0, 0, 0, 0),
    ]
    overview = queries.year_overview(demo["year"])
    page_counts = [[cell.counts[c] for cell in row.cells for c in COLOUR_KEYS] for row in overview.rows]
    assert [list(row[1:]) for row in rows[1:]] == page_counts


def test_the_scorecard_export_holds_the_pages_scores_and_averages(client, demo, chair):
    client.force_login(chair)
    sheet = workbook_of(client.get("/reports/departments/A/scorecard.xlsx")).active
    rows = list(sheet.iter_rows(values_only=True))
    assert sheet.title == "A"
    assert len(rows[0]) == 3 + 3 + 1
    assert [row[:3] for row in rows[1:4]] == [
        ("a1 设备完好率", "staff_a", 1),
        ("a2 冶炼回收率", "staff_a", 2),
        ("a3 新增任务", "staff_a", 1),
    ]
    with translation.override("zh-hans"):
        labels = {key: str(label) for key, label in queries.TRANSITION_LABELS.items()}
    assert [row[6] for row in rows[1:4]] == [labels["improved"], labels["worsened"], None]
    body = {row[0]: row for row in rows[1:]}
    assert body["a1 设备完好率"][3:6] == (90, 70, 95)
    assert body["a2 冶炼回收率"][2:6] == (2, 60, 85, 70)
    assert body["a3 新增任务"][3:6] == (None, None, 65)
    averages = rows[-1]
    assert averages[3:6] == (70, 80, 75)
    html = html_of(client.get("/reports/departments/A/"))
    page_averages = re.findall(r'data-stage="\d">([^<]+)<', html.split('id="averages"')[1].split("</tr>")[0])
    assert [float(value) for value in page_averages] == list(averages[3:6])


# --- charts ------------------------------------------------------------------------------


def test_the_trend_chart_draws_a_line_per_colour_with_a_point_per_closed_stage(client, demo, chair):
    client.force_login(chair)
    html = html_of(client.get("/reports/"))
    trend = html.split('class="chart-figure">')[1].split("</figure>")[0]
    svg = ET.fromstring(trend)  # well-formed XML
    assert not list(svg.iter(f"{SVG}script"))
    assert "<script" not in trend
    lines = svg.findall(f"{SVG}polyline")
    assert [line.get("stroke") for line in lines] == [charts.FILL["green"], charts.FILL["yellow"], charts.FILL["red"]]
    assert [len(line.get("points").split()) for line in lines] == [3, 3, 3]
    # The green line's points: 50.0%, 25.0%, 20.0% of the plot's height, from the bottom.
    plot_h = charts.HEIGHT - charts.TOP - charts.BOTTOM
    ys = [float(point.split(",")[1]) for point in lines[0].get("points").split()]
    assert ys == [round(charts.TOP + plot_h - plot_h * share / 100, 1) for share in (50.0, 25.0, 20.0)]
    for svg_element in svgs_in(html):  # the heat-map bars parse too
        assert svg_element.tag == f"{SVG}svg"


def test_the_task_chart_draws_a_bar_per_rated_stage_in_its_colour(client, demo, chair):
    client.force_login(chair)
    task = demo["task"]["a2"]
    html = html_of(client.get(f"/reports/tasks/{task.pk}/"))
    svg = ET.fromstring(html.split('id="task-chart">')[1].split("</figure>")[0])
    bars = svg.findall(f"{SVG}rect")
    expected = [classify(score, green_above=80, red_below=60).value for score in (60, 85, 70)]
    assert [bar.get("fill") for bar in bars] == [charts.FILL[colour] for colour in expected]
    assert expected == ["yellow", "green", "yellow"]
    assert "第2阶段目标：a2 冶炼回收率" in bars[1].find(f"{SVG}title").text

    one_result = demo["task"]["a3"]
    svg = ET.fromstring(
        html_of(client.get(f"/reports/tasks/{one_result.pk}/")).split('id="task-chart">')[1].split("</figure>")[0]
    )
    assert [bar.get("fill") for bar in svg.findall(f"{SVG}rect")] == [charts.FILL["yellow"]]


def test_the_charts_escape_titles_and_targets(client, demo, chair):
    task = demo["task"]["a1"]
    hostile = '<script>alert("x")</script> R&D'
    KeyTask.objects.filter(pk=task.pk).update(title=hostile)
    task.targets.filter(stage__number=1).update(description="<b>目标</b> & 验收")
    client.force_login(chair)
    html = html_of(client.get(f"/reports/tasks/{task.pk}/"))
    figure = html.split('id="task-chart">')[1].split("</figure>")[0]
    assert "<script>" not in figure and "&lt;script&gt;" in figure and "R&amp;D" in figure
    svg = ET.fromstring(figure)
    assert not list(svg.iter(f"{SVG}script")) and not list(svg.iter("script"))
    assert hostile in svg.find(f"{SVG}title").text
    assert "<b>目标</b> & 验收" in svg.find(f"{SVG}rect").find(f"{SVG}title").text
    assert "<script>alert" not in html  # nor anywhere else on the page

    legend = {"green": "<g>", "yellow": "&", "red": '"'}
    drawn = charts.colour_trend(["<1>", "2"], {"green": [1, 2], "yellow": [3, 4], "red": [5, 6]}, legend, "<t>&")
    root = ET.fromstring(str(drawn))
    assert root.find(f"{SVG}title").text == "<t>&"
    ET.fromstring(str(charts.share_bar({"green": 50.0, "yellow": 50.0, "red": 0}, legend)))


# --- fixed number of queries ---------------------------------------------------------------


def build_year(year, leader, departments, tasks_per_department):
    """`departments` x `tasks_per_department` tasks with closed meetings at stages 1-3 (ratings
    cycling through the colours, a case per yellow or red one) and stage 4 self-assessments."""
    owner = make_user(f"owner{departments}", Role.STAFF)
    Department.objects.bulk_create(
        Department(code=f"D{index:03d}", name=f"部门{index:03d}", division_leader=leader)
        for index in range(departments)
    )
    all_departments = list(Department.objects.filter(code__startswith="D"))
    KeyTaskFactory.create_many(
        {
            "year": year,
            "department": department,
            "owner": owner,
            "title": f"{department.code}-{number}",
            "weight": 1 + number % 3,
        }
        for department in all_departments
        for number in range(tasks_per_department)
    )
    tasks = list(KeyTask.objects.filter(year=year))
    stages = {stage.number: stage for stage in year.stages.all()}
    meetings = ReviewMeeting.objects.bulk_create(
        ReviewMeeting(stage=stages[number], date=stages[number].meeting_date, state=ReviewMeeting.State.CLOSED)
        for number in (1, 2, 3)
    )
    scores = (90, 70, 50)
    Rating.objects.bulk_create(
        Rating(
            meeting=meeting,
            task=task,
            final_score=scores[(index + offset) % 3],
            colour=classify(scores[(index + offset) % 3]).value,
        )
        for offset, meeting in enumerate(meetings)
        for index, task in enumerate(tasks)
    )
    today = timezone.localdate()
    FollowUp.objects.bulk_create(
        FollowUp(rating=rating, kind=FollowUp.Kind.REMINDER, due_date=today)
        for rating in Rating.objects.exclude(colour="green")
    )
    SelfAssessment.objects.bulk_create(
        SelfAssessment(task=task, stage=stages[4], completion=scores[index % 3], state="submitted")
        for index, task in enumerate(tasks)
        if index % 4
    )
    return all_departments


@pytest.mark.parametrize(("departments", "tasks_per_department"), [(2, 2), (30, 10)])
def test_report_pages_run_a_fixed_number_of_queries(
    client, year, chair, departments, tasks_per_department, django_assert_max_num_queries
):
    built = build_year(year, chair, departments, tasks_per_department)
    client.force_login(chair)
    code = built[0].code
    with django_assert_max_num_queries(9):
        html = html_of(client.get("/reports/"))
    assert html.count("data-department=") == departments
    with django_assert_max_num_queries(11):  # the organisation tree is read once
        html = html_of(client.get(f"/reports/departments/{code}/"))
    assert html.count("data-task=") == tasks_per_department
    with django_assert_max_num_queries(13):
        html = html_of(client.get("/reports/warning/"))
    assert html.count("data-kind=") >= 1
    with django_assert_max_num_queries(8):
        assert client.get("/reports/overview.xlsx").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(f"/reports/departments/{code}/scorecard.xlsx").status_code == 200


# --- print ---------------------------------------------------------------------------------


def test_report_pages_print_without_navigation(client, settings, demo, chair):
    css = (settings.BASE_DIR / "static" / "css" / "site.css").read_text()
    print_rules = " ".join(re.findall(r"@media print\s*{(.*?)}\s*}", css, re.S))
    for selector in (".tabs", ".no-print", ".site-nav", ".site-header"):
        assert selector in print_rules, selector
    client.force_login(chair)
    for url in (
        "/reports/",
        "/reports/departments/A/",
        "/reports/warning/",
        f"/reports/tasks/{demo['task']['a1'].pk}/",
    ):
        html = html_of(client.get(url))
        assert "css/site.css" in html
        assert re.search(r'class="[^"]*no-print', html), url
