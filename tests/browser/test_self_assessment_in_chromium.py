"""A staff member self-assesses a task in a real browser and sees the light before submitting."""

import datetime

import pytest
from django.utils import timezone

from lightboard.roles import Role
from tasks import services
from tasks.models import SelfAssessment
from tests.browser.conftest import screenshot
from tests.conftest import make_user
from tests.factories import KeyTaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_enter_75_see_the_yellow_light_and_submit(page, department_a):
    today = timezone.localdate()
    year = services.create_assessment_year(year=today.year)
    staff = make_user("wang", Role.STAFF, departments=[department_a], name="王晓明")
    staff.set_password("demo-pass-1")
    staff.save()
    task = KeyTaskFactory(year=year, department=department_a, owner=staff, title="主要产品产量计划完成")
    stage = next(s for s in year.stages.all() if s.start <= today <= s.end)

    page.goto("/accounts/login/")
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", "demo-pass-1")
    page.click("main button[type=submit]")
    page.wait_for_url("**/tasks/mine/")
    assert page.locator(f'tr[data-task="{task.pk}"]').is_visible()
    screenshot(page, "staff-my-tasks")

    page.click(f'tr[data-task="{task.pk}"] a.button')
    page.wait_for_url(f"**/tasks/{task.pk}/stages/{stage.number}/assess/")
    page.fill("input[name=completion]", "75")
    light = page.locator("#light-preview .light.yellow")
    light.wait_for(state="visible")
    assert light.inner_text().strip() == "黄灯"
    assert not SelfAssessment.objects.exists()  # the light came before anything was saved
    page.fill("textarea[name=account]", "完成年度产量计划的75%，两条产线检修延误。")
    screenshot(page, "staff-yellow-light-before-submitting")

    page.click("button[value=submit]")
    page.wait_for_url("**/tasks/mine/")
    row = page.locator(f'tr[data-task="{task.pk}"]')
    assert "已提交" in row.inner_text()
    assert "75.0%" in row.inner_text()
    screenshot(page, "staff-task-submitted")
    assessment = SelfAssessment.objects.get()
    assert assessment.state == "submitted" and assessment.completion == 75
    assert assessment.submitted_at.date() >= today - datetime.timedelta(days=1)
