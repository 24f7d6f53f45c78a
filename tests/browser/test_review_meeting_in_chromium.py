"""The review cycle in a real browser, each role from the login page by clicking:

- a division leader ticks the whole queue with 全选本页, confirms all but one as submitted and
  adjusts that one with a reason;
- the leadership group schedules the meeting, opens it (开始例会), enters meeting mode through
  the board's 会议模式 button and saves the first task it shows (that first task's address has
  no ?rating=: saving it used to give a 404), is asked before an unsaved change is dropped
  (→ or 下一项), rates the task nobody self-assessed from the 结束例会… page's list, reads the
  red and yellow tasks still without a decision there, closes the meeting and reads the minutes;
- on the projector (1920×1080) meeting mode takes the whole width and hides the site menu."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lightboard.roles import Role
from reviews.models import FollowUp, Rating, ReviewMeeting
from tasks import services
from tasks.models import SelfAssessment
from tests.browser.conftest import PROJECTOR, flash, menu, screenshot, scripts_ready, sign_in, sign_out
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import confirm, open_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FURNACE = "冶炼回收率提升"  # self 75: yellow, confirmed as submitted, rated red in the meeting
SAFETY = "隐患排查治理闭环"  # self 90, adjusted by the leader to 70: yellow
EQUIPMENT = "设备完好率提升"  # self 95: green
ARCHIVE = "档案数字化整理"  # never self-assessed: no score until the meeting gives one


def current_stage(year):
    today = timezone.localdate()
    return next(stage for stage in year.stages.all() if stage.start <= today <= stage.end)


def shown_task(page):
    """The task meeting mode shows: its title is the page's heading."""
    return page.get_by_role("heading", level=1)


def submitted(task, stage, completion):
    return SelfAssessment.objects.create(
        task=task,
        stage=stage,
        completion=completion,
        account="按计划推进",
        state="submitted",
        submitted_at=timezone.now(),
        submitted_by=task.owner,
    )


def test_confirm_adjust_run_the_meeting_close_it_and_read_the_minutes(page, department_a, leader_a, staff_a):
    year = services.create_assessment_year(year=timezone.localdate().year)
    stage = current_stage(year)
    make_user("chen", Role.LEADERSHIP, name="陈志远")
    tasks = {
        title: KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=title)
        for title in (FURNACE, SAFETY, EQUIPMENT, ARCHIVE)
    }
    for title, score in ((FURNACE, 75), (SAFETY, 90), (EQUIPMENT, 95)):
        submitted(tasks[title], stage, score)

    # --- The division leader: 全选本页, untick one, confirm the rest, adjust the one --------
    sign_in(page, "leader_a")
    expect(page.get_by_role("heading", name="待确认自评")).to_be_visible()
    queue = page.locator("#queue")
    boxes = queue.get_by_role("checkbox")
    expect(boxes).to_have_count(3)
    scripts_ready(page)
    page.get_by_label("全选本页").check()
    for index in range(3):
        expect(boxes.nth(index)).to_be_checked()
    page.get_by_label(f"确认 {SAFETY}").uncheck()
    screenshot(page, "leader-ticks-all-but-one")
    page.get_by_role("button", name="按自评得分确认所选项").click()
    expect(flash(page, "已确认 2 项自评。")).to_be_visible()
    expect(queue.get_by_role("checkbox")).to_have_count(1)

    queue.get_by_role("row").filter(has_text=SAFETY).get_by_role("link", name="调整或退回").click()
    expect(page.get_by_role("heading", name=SAFETY)).to_be_visible()
    scripts_ready(page)
    page.get_by_label("确认得分").fill("70")
    expect(page.locator("#light-preview").get_by_text("黄灯")).to_be_visible()
    page.get_by_label("调整原因").fill("两项隐患整改尚未验收")
    screenshot(page, "leader-adjusts-a-score")
    page.get_by_role("button", name="按此得分确认").click()
    expect(flash(page, f"已确认：{SAFETY}")).to_be_visible()
    expect(page.get_by_text("没有等待您确认的自评。")).to_be_visible()
    sign_out(page)

    # --- The leadership group: schedule, open, meeting mode from the board -------------------
    sign_in(page, "chen")
    expect(page.get_by_role("heading", name=re.compile("考核评价例会"))).to_be_visible()
    page.get_by_label("阶段").select_option(label=str(stage))
    page.get_by_label("日期").fill(stage.meeting_date.isoformat())
    page.get_by_label("地点").fill("三楼会议室")
    page.get_by_label("陈志远").check()
    page.get_by_role("button", name="安排", exact=True).click()
    expect(flash(page, f"已安排例会：{stage}")).to_be_visible()
    row = page.locator("#meetings").get_by_role("row").filter(has_text=f"第 {stage.number} 阶段")
    row.get_by_role("button", name="开始例会").click()
    expect(page.get_by_role("heading", name=re.compile("评价看板"))).to_be_visible()
    totals = page.locator("#totals")
    expect(totals).to_contain_text("黄灯 2")
    expect(totals).to_contain_text("未评分 1")
    screenshot(page, "board-opened")

    page.get_by_role("link", name="会议模式").click()
    # The first task to discuss, at the bare meeting-mode address (no ?rating=).
    expect(shown_task(page)).to_have_text(FURNACE)
    expect(page).to_have_url(re.compile(r"/reviews/meetings/\d+/present/$"))
    expect(page.get_by_text(re.compile("待议 第 1 项，共 3 项"))).to_be_visible()
    page.get_by_label("最终得分", exact=True).fill("50")
    page.get_by_label("最终得分说明").fill("回收率连续两个月低于目标")
    page.get_by_label("处理意见").fill("发函督办，约谈责任人")
    screenshot(page, "meeting-mode-first-task-sets-a-red-score")
    page.get_by_role("button", name="保存").click()
    expect(flash(page, f"已保存：{FURNACE}")).to_be_visible()
    expect(page.locator(".present-light").get_by_text("红灯")).to_be_visible()
    expect(page.locator(".present-light")).to_contain_text("50.0%")
    furnace = Rating.objects.get(task=tasks[FURNACE])
    assert furnace.final_score == Decimal("50") and furnace.colour == "red"

    # --- Leaving an unsaved change asks first: → (dismissed) stays, 下一项 (accepted) leaves --
    score = page.get_by_label("最终得分", exact=True)
    scripts_ready(page)  # meeting mode's script notices the change
    score.fill("65")
    page.keyboard.press("Escape")  # out of the field: the arrow keys step through the tasks
    asked = []

    def answer(accept):
        def handle(dialog):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    page.once("dialog", answer(accept=False))
    page.keyboard.press("ArrowRight")
    expect(shown_task(page)).to_have_text(FURNACE)
    expect(score).to_have_value("65")
    assert asked == ["本项有未保存的修改，确定不保存就离开吗？"]
    screenshot(page, "meeting-mode-unsaved-change-kept")

    page.once("dialog", answer(accept=True))
    page.get_by_role("link", name="下一项").click()
    expect(shown_task(page)).to_have_text(SAFETY)
    assert len(asked) == 2
    furnace.refresh_from_db()
    assert furnace.final_score == Decimal("50")  # the 65 was left unsaved, as answered
    # The adjusted score and the leader's reason are on screen, prefilled as the final score.
    expect(page.locator(".present-facts")).to_contain_text("两项隐患整改尚未验收")
    expect(page.get_by_label("最终得分", exact=True)).to_have_value(re.compile(r"^70(\.0)?$"))

    # The keyboard: ← back to the first task without a question (nothing changed here).
    scripts_ready(page)
    page.keyboard.press("ArrowLeft")
    expect(shown_task(page)).to_have_text(FURNACE)
    expect(page.locator(".present-light")).to_contain_text("50.0%")

    # --- 结束例会…: first the task without a score, then the decisions still missing ----------
    page.get_by_role("link", name="← 评价看板").click()
    page.get_by_role("link", name="结束例会…").click()
    unscored = page.locator("#unscored")
    expect(unscored).to_contain_text("尚无最终得分（1 项）")
    expect(page.get_by_role("button", name="结束例会", exact=True)).to_have_count(0)
    screenshot(page, "close-meeting-lists-the-task-without-a-score")
    unscored.get_by_role("link", name=ARCHIVE).click()
    expect(shown_task(page)).to_have_text(ARCHIVE)
    scripts_ready(page)
    page.keyboard.press("s")
    page.keyboard.type("85")
    page.keyboard.press("Enter")  # Enter in the score saves
    expect(flash(page, f"已保存：{ARCHIVE}")).to_be_visible()
    expect(page.locator(".present-light").get_by_text("绿灯")).to_be_visible()

    page.get_by_role("link", name="← 评价看板").click()
    page.get_by_role("link", name="结束例会…").click()
    undecided = page.locator("#undecided")
    expect(undecided).to_contain_text("红灯、黄灯任务尚无处理意见（1 项）")
    expect(undecided.get_by_role("link", name=SAFETY)).to_be_visible()
    expect(undecided.get_by_role("link", name=FURNACE)).to_have_count(0)
    screenshot(page, "close-meeting-lists-missing-decisions")
    page.get_by_role("button", name="结束例会", exact=True).click()

    expect(page.get_by_role("heading", name=re.compile("例会纪要"))).to_be_visible()
    expect(flash(page, "例会已结束")).to_be_visible()
    follow_up = page.locator("#minutes-follow-up")
    red_row = follow_up.get_by_role("row").filter(has_text=FURNACE)
    expect(red_row).to_contain_text("红灯")
    expect(red_row).to_contain_text("发函督办，约谈责任人")
    expect(follow_up.get_by_role("row").filter(has_text=SAFETY)).to_contain_text("—")
    expect(page.locator("#minutes-commended")).to_contain_text(ARCHIVE)
    screenshot(page, "minutes-list-the-red-task")
    assert ReviewMeeting.objects.get().state == ReviewMeeting.State.CLOSED
    assert FollowUp.objects.get(rating__task=tasks[FURNACE]).kind == "supervision"
    assert FollowUp.objects.get(rating__task=tasks[SAFETY]).kind == "reminder"


def test_meeting_mode_on_the_projector_uses_the_whole_width_and_hides_the_menu(
    open_page, department_a, leader_a, staff_a, leadership
):
    year = services.create_assessment_year(year=timezone.localdate().year)
    stage = current_stage(year)
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=FURNACE)
    confirm(task, stage, 58)
    open_meeting(stage, leadership, attendees=[leadership])

    page = open_page(PROJECTOR)
    sign_in(page, "leadership")
    menu(page, "考核例会")
    row = page.locator("#meetings").get_by_role("row").filter(has_text=f"第 {stage.number} 阶段")
    row.get_by_role("link", name="评价看板").click()
    page.get_by_role("link", name="会议模式").click()
    expect(shown_task(page)).to_have_text(FURNACE)
    expect(page.get_by_role("navigation", name="主导航")).to_be_hidden()
    width = page.locator(".present").bounding_box()["width"]
    assert width >= 0.9 * PROJECTOR["width"], width
    expect(page.locator(".present-light").get_by_text("红灯")).to_be_visible()
    screenshot(page, "meeting-mode-on-the-projector")
