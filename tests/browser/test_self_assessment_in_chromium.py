"""A staff member self-assesses a task in a real browser and sees the light before submitting:
from the login page to 我的任务, the task's 自评 button, the score and the account, 提交."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lightboard.roles import Role
from tasks import services
from tasks.models import SelfAssessment
from tests.browser.conftest import screenshot, scripts_ready, sign_in
from tests.conftest import make_user
from tests.factories import KeyTaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TASK = "主要产品产量计划完成"


def test_staff_enter_75_see_the_yellow_light_and_submit(page, department_a):
    today = timezone.localdate()
    year = services.create_assessment_year(year=today.year)
    staff = make_user("wang", Role.STAFF, departments=[department_a], name="王晓明")
    staff.set_password("demo-pass-1")
    staff.save()
    KeyTaskFactory(year=year, department=department_a, owner=staff, title=TASK)
    KeyTaskFactory(year=year, department=department_a, owner=staff, title="生产设备完好率提升")

    sign_in(page, "wang", "demo-pass-1")
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
    row = page.locator("#my-tasks").get_by_role("row").filter(has_text=TASK)
    expect(row.get_by_text("未开始")).to_be_visible()
    screenshot(page, "staff-my-tasks")

    row.get_by_role("link", name="自评").click()
    expect(page.get_by_role("heading", name=f"自评：{TASK}")).to_be_visible()
    scripts_ready(page)
    page.get_by_label("完成度（%）").fill("75")
    preview = page.locator("#light-preview")
    expect(preview.get_by_text("黄灯")).to_be_visible()
    assert not SelfAssessment.objects.exists()  # the light came before anything was saved
    page.get_by_label("完成情况").fill("完成年度产量计划的75%，两条产线检修延误。")
    screenshot(page, "staff-yellow-light-before-submitting")

    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
    row = page.locator("#my-tasks").get_by_role("row").filter(has_text=TASK)
    expect(row.get_by_text("已提交")).to_be_visible()
    expect(row.get_by_text("75.0%")).to_be_visible()
    # Submitted: the row offers to view it, no longer to self-assess.
    expect(row.get_by_role("link", name="查看")).to_be_visible()
    screenshot(page, "staff-task-submitted")
    assessment = SelfAssessment.objects.get()
    assert assessment.state == "submitted" and assessment.completion == 75
