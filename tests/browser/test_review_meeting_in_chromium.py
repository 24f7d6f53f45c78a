"""The review cycle in a real browser: a leader confirms and adjusts, the leadership group
runs the meeting with the keyboard, turns a task red, closes the meeting and reads the minutes."""

import pytest
from django.utils import timezone

from lightboard.roles import Role
from reviews.models import FollowUp, Rating
from tasks import services
from tasks.models import SelfAssessment
from tests.browser.conftest import screenshot
from tests.conftest import make_user
from tests.factories import KeyTaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("main button[type=submit]")


def sign_out(page):
    page.click("form[action='/accounts/logout/'] button")
    page.wait_for_url("**/accounts/login/")


def test_confirm_adjust_run_the_meeting_turn_a_task_red_and_read_the_minutes(page, department_a, leader_a, staff_a):
    today = timezone.localdate()
    year = services.create_assessment_year(year=today.year)
    stage = next(s for s in year.stages.all() if s.start <= today <= s.end)
    make_user("chen", Role.LEADERSHIP, name="陈志远")
    furnace = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="冶炼回收率提升")
    safety = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="隐患排查治理闭环")
    for task, score in ((furnace, 75), (safety, 90)):
        SelfAssessment.objects.create(
            task=task,
            stage=stage,
            completion=score,
            account="按计划推进",
            state="submitted",
            submitted_at=timezone.now(),
        )

    # The division leader confirms one assessment as submitted and adjusts the other.
    sign_in(page, "leader_a")
    page.wait_for_url("**/reviews/confirmations/")
    furnace_row = page.locator("tr", has_text="冶炼回收率提升")
    furnace_row.locator("input[type=checkbox]").check()
    page.click("#confirm-form button[type=submit]")
    assert page.locator("tr", has_text="冶炼回收率提升").count() == 0
    page.locator("tr", has_text="隐患排查治理闭环").locator("a.button").click()
    page.fill("#adjust-form input[name=score]", "70")
    page.fill("#adjust-form textarea[name=reason]", "两项隐患整改尚未验收")
    screenshot(page, "leader-adjusts-a-score")
    page.click("#adjust-form button[type=submit]")
    page.wait_for_url("**/reviews/confirmations/")
    assert "没有等待您确认的自评" in page.content()
    sign_out(page)

    # The leadership group schedules and opens the meeting, then steps through meeting mode.
    sign_in(page, "chen")
    page.wait_for_url("**/reviews/meetings/")
    page.select_option("select[name=stage]", str(stage.pk))
    page.fill("input[name=date]", stage.meeting_date.isoformat())
    page.fill("input[name=place]", "三楼会议室")
    page.check("input[name=attendees]")
    page.click("main form.card button[type=submit]")
    page.click(f"tr[data-stage='{stage.number}'] form button")
    page.wait_for_url("**/reviews/meetings/*/")
    assert page.locator("#totals .count.yellow strong").inner_text() == "2"
    page.click("a.primary-link")
    page.wait_for_url("**/present/**")
    assert page.locator(".present-title").inner_text() == "冶炼回收率提升"
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**rating=*")
    assert page.locator(".present-title").inner_text() == "隐患排查治理闭环"
    page.keyboard.press("ArrowLeft")
    page.locator(".present-title", has_text="冶炼回收率提升").wait_for()
    page.keyboard.press("s")
    page.keyboard.type("50")
    page.fill("textarea[name=score_reason]", "回收率连续两个月低于目标")
    page.fill("textarea[name=decision]", "发函督办，约谈责任人")
    screenshot(page, "meeting-mode-sets-a-red-score")
    page.click(".present-form button[type=submit]")
    page.locator(".present-light .light.red").wait_for()
    assert Rating.objects.get(task=furnace).colour == "red"

    # Close the meeting and read the minutes.
    page.goto(page.url.split("present/")[0])
    page.click("#close-meeting")
    page.wait_for_url("**/minutes/")
    red_row = page.locator("#minutes-follow-up tr", has_text="冶炼回收率提升")
    assert "红灯" in red_row.inner_text() and "发函督办，约谈责任人" in red_row.inner_text()
    assert "隐患排查治理闭环" in page.locator("#minutes-follow-up").inner_text()
    screenshot(page, "minutes-list-the-red-task")
    assert FollowUp.objects.get(rating__task=furnace).kind == "supervision"
