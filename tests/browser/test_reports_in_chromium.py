"""The reports in a real browser: a leadership-group member opens the year overview, drills
into a department from a heat-map cell, finds the same counts on its scorecard, and reads
the same page in English after switching the language."""

import re

import pytest
from django.utils import timezone

from lightboard.roles import Role
from reviews import services as reviews
from reviews.models import Rating
from tasks import services
from tasks.models import Department
from tests.browser.conftest import screenshot
from tests.conftest import make_user
from tests.factories import KeyTaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Final scores per stage (green above 80, red below 60).
SCORES = {
    "A": {"冶炼回收率提升": (90, 70), "隐患排查治理闭环": (65, 85), "设备完好率提升": (50, 95)},
    "B": {"应收账款压降": (85, 40), "成本费用压降": (55, 75)},
}


def sign_in(page, username):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("main button[type=submit]")


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


def counts_of_cell(page, code, number):
    cell = page.locator(f"#heatmap tr[data-department='{code}'] td[data-stage='{number}']")
    return "/".join(cell.locator(f".c-{colour}").inner_text() for colour in ("green", "yellow", "red"))


def counts_on_scorecard(page, number):
    return page.locator(f"#counts td[data-stage='{number}']").inner_text().strip()


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
    page.wait_for_url("**/reviews/meetings/")
    page.goto("/reports/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert counts_of_cell(page, "A", 1) == "1/1/1"
    assert counts_of_cell(page, "A", 2) == "2/1/0"
    assert counts_of_cell(page, "B", 2) == "0/1/1"
    overall = page.locator("#stage-total-2").inner_text()
    assert re.findall(r"\d+", overall) == ["2", "2", "1"] and "绿灯" in overall
    screenshot(page, "reports-year-overview")

    # Drill down: click department A's stage 2 cell.
    page.locator("#heatmap tr[data-department='A'] td[data-stage='2'] a").click()
    page.wait_for_url("**/reports/departments/A/?stage=2*")
    assert "生产运营部" in page.locator("h1").inner_text()
    assert page.locator("th#stage-2").get_attribute("class") == "highlight"
    assert counts_on_scorecard(page, 2) == "2/1/0"
    assert counts_on_scorecard(page, 1) == "1/1/1"
    assert page.locator("#scorecard tbody tr").count() == 3
    # Weighted averages (all weights 1): (90 + 65 + 50)/3 = 68.3 and (70 + 85 + 95)/3 = 83.3.
    assert page.locator("#averages td[data-stage='1']").inner_text() == "68.3"
    assert page.locator("#averages td[data-stage='2']").inner_text() == "83.3"
    screenshot(page, "reports-scorecard-zh")

    # The same page in English.
    page.locator(".language-switcher button[value='en']").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert "/reports/departments/A/" in page.url
    heading = page.locator("h1").inner_text()
    assert "scorecard" in heading.lower() and "生产运营部" in heading
    assert page.locator("#counts th").inner_text() == "Green / yellow / red"
    assert counts_on_scorecard(page, 2) == "2/1/0"
    assert counts_on_scorecard(page, 1) == "1/1/1"
    assert page.locator("#averages td[data-stage='2']").inner_text() == "83.3"
    screenshot(page, "reports-scorecard-en")

    # And the overview in English shows the same counts.
    page.locator(".crumbs a").click()
    page.wait_for_url("**/reports/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == f"Year overview {year.year}"
    assert counts_of_cell(page, "A", 2) == "2/1/0"
    assert "Green light" in page.locator("#stage-total-2").inner_text()
