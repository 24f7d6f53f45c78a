"""The reports in a real browser: a leadership-group member signs in, opens the year overview
from the menu (统计报表), drills into a department by clicking a heat-map cell, finds the same
counts on its scorecard, switches the interface to English with the header's button and reads
the same figures, then goes back to the overview through the breadcrumb."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lightboard.roles import Role
from reviews import services as reviews
from reviews.models import Rating
from tasks import services
from tasks.models import Department
from tests.browser.conftest import menu, screenshot, sign_in
from tests.conftest import make_user
from tests.factories import KeyTaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Final scores per stage (green above 80, red below 60).
SCORES = {
    "A": {"冶炼回收率提升": (90, 70), "隐患排查治理闭环": (65, 85), "设备完好率提升": (50, 95)},
    "B": {"应收账款压降": (85, 40), "成本费用压降": (55, 75)},
}


def hold_meetings(year, chair):
    """Stages 1 and 2 reviewed and closed through the services, with the scores above."""
    for index, number in enumerate((1, 2)):
        stage = year.stages.get(number=number)
        meeting = reviews.schedule_meeting(
            stage=stage, date=stage.meeting_date, place="三楼会议室", attendees=[chair], by=chair
        )
        meeting = reviews.open_meeting(meeting=meeting, by=chair)
        for rating in meeting.ratings.select_related("task__department"):
            score = SCORES[rating.task.department.code][rating.task.title][index]
            reviews.set_rating(
                rating_id=rating.pk,
                version=rating.version,
                final_score=score,
                score_reason="会上综合评价",
                decision="",
                next_stage_target="",
                by=chair,
            )
        reviews.close_meeting(meeting=meeting, by=chair)


def heatmap_cell(page, department, number):
    """The heat map's cell of a department at a stage (the first column names the department)."""
    return page.locator("#heatmap").get_by_role("row").filter(has_text=department).get_by_role("cell").nth(number - 1)


def scorecard_cell(page, row_id, number):
    return page.locator(row_id).get_by_role("cell").nth(number - 1)


def test_leadership_drills_from_the_overview_into_a_scorecard_and_reads_it_in_english(page, department_a, department_b):
    today = timezone.localdate()
    year = services.create_assessment_year(year=today.year)
    chair = make_user("chen", Role.LEADERSHIP, name="陈志远")
    owner = make_user("wang", Role.STAFF, name="王工", departments=[department_a, department_b])
    for code, tasks in SCORES.items():
        department = Department.objects.get(code=code)
        for title in tasks:
            KeyTaskFactory(year=year, department=department, owner=owner, title=title)
    hold_meetings(year, chair)
    # Department A at stage 2: 70 yellow, 85 green, 95 green.
    assert sorted(
        Rating.objects.filter(task__department=department_a, meeting__stage__number=2).values_list("colour", flat=True)
    ) == ["green", "green", "yellow"]

    sign_in(page, "chen")
    menu(page, "统计报表")
    expect(page.get_by_role("heading", name=f"{year.year} 年度总览")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # each count with its light's name (a screen reader's; on screen, the light's shape)
    expect(heatmap_cell(page, "生产运营部", 1)).to_contain_text("绿灯 1 / 黄灯 1 / 红灯 1")
    expect(heatmap_cell(page, "生产运营部", 2)).to_contain_text("绿灯 2 / 黄灯 1 / 红灯 0")
    expect(heatmap_cell(page, "财务部", 2)).to_contain_text("绿灯 0 / 黄灯 1 / 红灯 1")
    overall = page.locator("#stage-total-2")
    expect(overall).to_contain_text("绿灯 2")
    expect(overall).to_contain_text("黄灯 2")
    expect(overall).to_contain_text("红灯 1")
    screenshot(page, "reports-year-overview")

    # Drill down: click department A's stage 2 cell.
    heatmap_cell(page, "生产运营部", 2).get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"生产运营部 {year.year} 年记分卡")).to_be_visible()
    expect(page.locator("#stage-2")).to_have_class("highlight")
    expect(scorecard_cell(page, "#counts", 2)).to_have_text("2/1/0")
    expect(scorecard_cell(page, "#counts", 1)).to_have_text("1/1/1")
    scorecard = page.locator("#scorecard")
    for title in SCORES["A"]:
        expect(scorecard.get_by_role("link", name=title)).to_be_visible()
    for title in SCORES["B"]:
        expect(scorecard.get_by_role("link", name=title)).to_have_count(0)
    # Weighted averages (all weights 1): (90 + 65 + 50)/3 = 68.3 and (70 + 85 + 95)/3 = 83.3.
    expect(scorecard_cell(page, "#averages", 1)).to_have_text("68.3")
    expect(scorecard_cell(page, "#averages", 2)).to_have_text("83.3")
    screenshot(page, "reports-scorecard-zh")

    # The same page in English.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name=re.compile("生产运营部.*scorecard", re.IGNORECASE))).to_be_visible()
    expect(page.locator("#counts").get_by_role("rowheader")).to_have_text("Green / yellow / red")
    expect(scorecard_cell(page, "#counts", 2)).to_have_text("2/1/0")
    expect(scorecard_cell(page, "#counts", 1)).to_have_text("1/1/1")
    expect(scorecard_cell(page, "#averages", 2)).to_have_text("83.3")
    screenshot(page, "reports-scorecard-en")

    # And the overview in English shows the same counts.
    page.locator(".crumbs").get_by_role("link", name="Year overview").click()
    expect(page.get_by_role("heading", name=f"Year overview {year.year}")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heatmap_cell(page, "生产运营部", 2)).to_contain_text("Green light 2 / Yellow light 1 / Red light 0")
    expect(page.locator("#stage-total-2")).to_contain_text("Green light 2")
