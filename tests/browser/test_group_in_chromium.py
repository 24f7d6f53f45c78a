"""A group of companies in a real browser (issue 14, in part): a member of the leadership group
signs in and, by clicks only, drills from the group's heat map into a subsidiary, then one of
its departments' scorecard, then a red task, and reads the task's previous year; the ranking
reads at the subsidiary's level too."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lightboard.roles import Role
from tasks import services
from tasks.models import Department, KeyTask, TaskList
from tests.browser.conftest import menu, screenshot, sign_in
from tests.conftest import make_user
from tests.factories import KeyTaskFactory, make_list
from tests.reviews_fixtures import close, confirm, open_meeting, rate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TASK = "选矿回收率提升"


def test_the_group_drills_from_the_heat_map_to_a_subsidiarys_red_task_and_its_previous_year(page, leader_a):
    this_year = services.create_assessment_year(year=timezone.localdate().year)
    last_year = services.create_assessment_year(year=this_year.year - 1)
    chair = make_user("chen", Role.LEADERSHIP, name="陈志远")
    mining = Department.objects.create(code="MC", name="矿业公司", kind="subsidiary", division_leader=leader_a)
    plant = Department.objects.create(code="MC-P", name="矿业公司选矿厂", parent=mining, division_leader=leader_a)
    Department.objects.create(code="HQ-F", name="集团财务部", division_leader=leader_a)
    owner = make_user("liu", Role.STAFF, name="刘工", departments=[plant])
    make_list(last_year, plant, TaskList.State.APPROVED)
    earlier = KeyTaskFactory(year=last_year, department=plant, owner=owner, title=TASK)
    confirm(earlier, last_year.stages.get(number=6), 45)
    meeting = open_meeting(last_year.stages.get(number=6), chair)
    rate(meeting, earlier, 45, chair, decision="发函督办")
    close(meeting, chair)
    services.copy_list_to_next_year(task_list=TaskList.objects.get(year=last_year, department=plant), by=owner)
    task = KeyTask.objects.get(year=this_year)
    assert task.carried_from == earlier
    stage = this_year.stages.get(number=1)
    confirm(task, stage, 50)
    meeting = open_meeting(stage, chair)
    rate(meeting, task, 50, chair, decision="发函督办")
    close(meeting, chair)

    sign_in(page, "chen")
    menu(page, "统计报表")
    heatmap = page.locator("#heatmap")
    expect(heatmap.get_by_role("row").filter(has_text="集团财务部")).to_be_visible()
    heatmap.get_by_role("link", name="矿业公司", exact=True).click()
    expect(page.locator("#overview-level")).to_contain_text("矿业公司")
    expect(heatmap.get_by_role("row").filter(has_text="集团财务部")).to_have_count(0)
    screenshot(page, "group-heat-map-inside-a-subsidiary")
    heatmap.get_by_role("link", name="矿业公司选矿厂", exact=True).click()
    expect(page.get_by_role("heading", name=f"矿业公司选矿厂 {this_year.year} 年记分卡")).to_be_visible()
    page.get_by_role("link", name=TASK).first.click()
    expect(page.get_by_role("heading", name=TASK)).to_be_visible()
    years = page.locator("#across-years")
    expect(years.get_by_role("row").filter(has_text=str(last_year.year))).to_contain_text("红灯")
    expect(years.get_by_role("row").filter(has_text=str(this_year.year))).to_contain_text("红灯")
    screenshot(page, "red-task-with-its-previous-year")
    years.get_by_role("link", name=TASK).click()
    expect(page.locator(".crumbs")).to_contain_text(str(last_year.year))

    # The ranking reads at the subsidiary's level too.
    menu(page, "统计报表")
    page.locator("nav.tabs").get_by_role("link", name="排名").click()
    page.locator("#ranking").get_by_role("link", name="矿业公司", exact=True).click()
    expect(page.locator("#ranking-level")).to_contain_text("矿业公司")
    expect(page.locator("#ranking").get_by_role("row").filter(has_text="矿业公司选矿厂")).to_contain_text("50.0")
