"""A group of companies in a real browser (issue 14): a member of the leadership group signs in
and, by clicks only, drills from the group's heat map into a subsidiary, then one of its
departments' scorecard, then a red task, and reads the task's previous year; the ranking reads
at the subsidiary's level too. A subsidiary that runs its own cycle: its chair opens its own
meeting, which reviews its units' tasks only; its inspector works its case (the letter carries
its own number prefix), and a sibling subsidiary's case is refused by its address."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lightboard.roles import Role
from reviews import services as review_services
from reviews.models import FollowUp
from tasks import services
from tasks.models import Department, KeyTask, TaskList
from tests.browser.conftest import PHONE, flash, menu, screenshot, sign_in
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


def test_a_subsidiary_runs_its_own_cycle_and_its_inspector_cannot_open_a_siblings_case(open_page, leader_a):
    year = services.create_assessment_year(year=timezone.localdate().year)
    stage = year.stages.get(number=1)
    group_chair = make_user("chen", Role.LEADERSHIP, name="陈志远")
    units = {}
    for code, name, prefix in (("S1", "甲公司", "甲"), ("S2", "乙公司", "乙")):
        company = Department.objects.create(
            code=code, name=name, kind="subsidiary", runs_own_cycle=True, letter_prefix=prefix
        )
        units[code] = Department.objects.create(
            code=f"{code}-P", name=f"{name}生产部", parent=company, division_leader=leader_a
        )
        units[code].company = company
    chair = make_user("jia_chair", Role.LEADERSHIP, name="甲董事长", unit=units["S1"].company)
    make_user("jia_inspector", Role.INSPECTOR, name="甲纪检", unit=units["S1"].company)
    sibling_chair = make_user("yi_chair", Role.LEADERSHIP, name="乙董事长", unit=units["S2"].company)
    tasks = {}
    for code, title, score in (("S1", "甲公司产量达标", 45), ("S2", "乙公司回款清收", 40)):
        owner = make_user(f"owner_{code}", Role.STAFF, name=f"{code}负责人", departments=[units[code]])
        make_list(year, units[code], TaskList.State.APPROVED)
        tasks[code] = KeyTaskFactory(year=year, department=units[code], owner=owner, title=title)
        confirm(tasks[code], stage, score)
    for code, by in (("S1", chair), ("S2", sibling_chair)):
        review_services.schedule_meeting(
            stage=stage, unit=units[code].company, date=stage.meeting_date, place="", attendees=[], by=by
        )
    meeting = open_meeting(year.stages.get(number=2), group_chair)  # the group's, of nothing of theirs

    # 甲公司's chair lands on the meetings of its own cycle and opens the stage's meeting.
    page = open_page()
    sign_in(page, "jia_chair")
    expect(page.get_by_role("heading", name="甲公司")).to_be_visible()
    expect(page.locator("#cycles")).to_have_count(0)
    page.get_by_role("row").filter(has_text="第 1 阶段").get_by_role("button", name="开始例会").click()
    board = page.locator("#board-body")
    expect(board.get_by_text("甲公司产量达标")).to_be_visible()
    expect(board.get_by_text("乙公司回款清收")).to_have_count(0)
    screenshot(page, "subsidiary-board")
    s1_meeting = tasks["S1"].ratings.get().meeting
    rate(s1_meeting, tasks["S1"], 45, chair, decision="发函督办")
    close(s1_meeting, chair)
    s2_meeting = review_services.open_meeting(meeting=tasks["S2"].department.company.meetings.get(), by=sibling_chair)
    rate(s2_meeting, tasks["S2"], 40, sibling_chair, decision="发函督办")
    close(s2_meeting, sibling_chair)
    assert meeting.ratings.count() == 0
    sibling_case = FollowUp.objects.get(rating__task=tasks["S2"])

    # 甲公司's inspector, on a phone: the queue holds its case only; the letter is numbered 甲纪督.
    page = open_page(PHONE)
    sign_in(page, "jia_inspector")
    queue = page.locator("#queue")
    expect(queue.get_by_text("甲公司产量达标")).to_be_visible()
    expect(queue.get_by_text("乙公司回款清收")).to_have_count(0)
    queue.get_by_role("link", name="甲公司产量达标").click()
    page.get_by_role("button", name="发出督办函").click()
    expect(flash(page, f"甲纪督〔{year.year}〕1号")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "subsidiary-inspector-case-phone")

    # The sibling's case is refused by its address, and nothing of it shows.
    response = page.goto(f"/reviews/followups/{sibling_case.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="未找到")).to_be_visible()
    expect(page.get_by_text("乙公司回款清收")).to_have_count(0)
