"""One story over the demo data, one journey per role, in real Chromium.

On 25 November 2026 (pinned, so the story is the same any day) the demo year stands at
stage 6; stage 5 was due on 5 November and its review meeting is scheduled. The demo
leader's departments' stage-5 self-assessments still wait in the confirmation queue.

Every role starts at the login page and reaches each screen by clicking what a person sees
(the menu, links, buttons), as STYLE.md asks; only the staff's try of the leadership group's
address is typed, to prove it is refused.

1. staff (王晓明, 生产运营部) opens 我的任务, reads the earlier lights of a task, saves then
   submits its stage-6 self-assessment;
2. leader (李建国) ticks and confirms 生产运营部's stage-5 assessments, adjusts one with a
   reason, returns the staff's stage-6 submission with a comment, then confirms the rest of
   the queue at once with 全选本页;
3. leadership (陈志远) opens the stage-5 meeting (考核例会 → 开始例会), enters meeting mode
   through the board's 会议模式 button and saves the first task it shows, rates the staff's
   task red with a decision, closes the meeting through 结束例会… and reads the minutes;
4. inspector (赵敏) opens the red case from the follow-up queue, reads and edits the
   supervision letter before issuing it, and schedules the interview;
5. staff, the task's owner, finds the returned self-assessment at the top of 我的任务 with
   the leader's comment, and the letter and the interview notice in the inbox.

Each step saves a screenshot under tests/artifacts/ (.ci/run leaves them there and counts them)."""

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from outbox.queries import unread_count
from reviews.demo import load_review_demo
from reviews.models import FollowUp, Letter, Rating, ReviewMeeting
from tasks.demo import load_demo_data
from tasks.models import KeyTask, SelfAssessment, User
from tests.browser.conftest import flash, menu, screenshot, scripts_ready, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = datetime.date(2026, 11, 25)  # stage 6 of 2026; stage 5 was due on 5 November
PASSWORD = "demo"
TASK = "主要产品产量计划完成"  # 生产运营部 (SCB), owned by the demo staff login
DEPARTMENT = "生产运营部"
# Meeting mode starts with the red tasks: at stage 5 the first is 华岭磁材's exports (50.0,
# red at stage 4 too).
FIRST_TO_DISCUSS = "出口订单拓展"
RETURN_COMMENT = "第6阶段产量缺口的原因写得不具体，请补充两条产线检修的完成时间和追赶计划。"
INTERVIEW_AT = "2026-11-27T09:30"


@pytest.fixture
def on_25_november_2026(settings):
    """Pin the date lightboard takes as today (LIGHTBOARD_TODAY). The live server runs in a
    thread of this process, so it sees the setting too."""
    settings.LIGHTBOARD_TODAY = TODAY
    return TODAY


def queue_stage(page, number):
    """The confirmation queue's group of one stage."""
    return page.locator("#queue").get_by_role("rowgroup").filter(has_text=f"2026年第{number}阶段")


def row_of(page, table_id, text):
    """The row of a table that mentions `text`."""
    return page.locator(table_id).get_by_role("row").filter(has_text=text)


def shown_task(page):
    """The task meeting mode shows: its title is the page's heading."""
    return page.get_by_role("heading", level=1)


def test_staff_submit_leader_confirms_group_turns_it_red_inspector_follows_up_owner_reads_the_letter(
    page, on_25_november_2026
):
    year = load_demo_data(today=TODAY)
    load_review_demo(year, today=TODAY)
    stage5, stage6 = year.stages.get(number=5), year.stages.get(number=6)
    meeting = ReviewMeeting.objects.get(stage=stage5, unit=None)
    assert meeting.state == ReviewMeeting.State.SCHEDULED
    task = KeyTask.objects.get(year=year, title=TASK)
    staff = User.objects.get(username="staff")
    assert task.owner == staff and task.department.code == "SCB"
    # Stage 5 as the demo leaves it: self score 72.0, submitted, waiting for the leader.
    waiting = SelfAssessment.objects.get(task=task, stage=stage5)
    assert waiting.state == "submitted" and waiting.completion == Decimal("72.0")

    # --- 1. staff: my tasks → the task's earlier lights → stage 6 draft, then submit -----
    sign_in(page, "staff", PASSWORD)
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
    expect(page.get_by_text(re.compile("2026 年第 6 阶段"))).to_be_visible()
    # The leadership group's screens are not the staff's: the address answers 403.
    refused = page.goto("/reviews/meetings/")
    assert refused.status == 403
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    page.go_back()
    row = row_of(page, "#my-tasks", TASK)
    expect(row.get_by_text("未开始")).to_be_visible()
    earlier = row.get_by_title(re.compile(r"^第 \d 阶段"))  # a dot per stage: its light and score
    expect(earlier).to_have_count(5)
    expect(earlier.last).to_have_attribute("title", "第 5 阶段：黄灯 72.0%")
    screenshot(page, "journey-1a-staff-my-tasks")

    row.get_by_role("link", name=TASK).click()
    expect(page.get_by_role("heading", name=TASK)).to_be_visible()
    stages = page.locator("#stages").get_by_role("row").filter(has=page.get_by_role("cell"))
    expect(stages).to_have_count(6)
    # Stages 1–4 were reviewed (final scores 88.5, 80.1, 80.0, 79.9): green, green, yellow, yellow;
    # stage 5 shows the self score's light until the meeting (72.0: yellow); stage 6 has none yet.
    for index, light in enumerate(["绿灯", "绿灯", "黄灯", "黄灯", "黄灯"]):
        expect(stages.nth(index)).to_contain_text(light)
    expect(stages.nth(0)).to_contain_text("88.5%")
    expect(stages.nth(3)).to_contain_text("79.9%")
    screenshot(page, "journey-1b-staff-task-earlier-lights")

    menu(page, "我的任务")
    row_of(page, "#my-tasks", TASK).get_by_role("link", name="自评").click()
    expect(page.get_by_role("heading", name=f"第 6 阶段自评：{TASK}")).to_be_visible()
    scripts_ready(page)
    page.get_by_label("完成度（%）").fill("68")
    expect(page.locator("#light-preview").get_by_text("黄灯")).to_be_visible()
    page.get_by_label("完成情况").fill("两条产线检修完成，11月产量恢复至计划的68%，缺口正在追赶。")
    page.get_by_role("button", name="保存草稿").click()
    expect(flash(page, "草稿已保存。")).to_be_visible()
    expect(page.locator("#assessment-state")).to_have_text("草稿")
    screenshot(page, "journey-1c-staff-draft-saved")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
    row = row_of(page, "#my-tasks", TASK)
    expect(row.get_by_text("已提交")).to_be_visible()
    expect(row.get_by_text("68.0%")).to_be_visible()
    screenshot(page, "journey-1d-staff-submitted")
    assert SelfAssessment.objects.get(task=task, stage=stage6).state == "submitted"
    sign_out(page)

    # --- 2. leader: confirm 生产运营部's stage 5, adjust one, return one, then all the rest ----
    sign_in(page, "leader", PASSWORD)
    expect(page.get_by_role("heading", name="待确认自评")).to_be_visible()
    stage5_queue = queue_stage(page, 5)
    scb = stage5_queue.get_by_role("row").filter(has_text=DEPARTMENT)
    expect(scb).to_have_count(5)
    # The staff's stage-6 submission waits in its own group; it is not the meeting's business.
    expect(queue_stage(page, 6).get_by_role("row").filter(has_text=TASK)).to_have_count(1)
    others = KeyTask.objects.filter(year=year, department=task.department).exclude(pk=task.pk)
    for other in others:
        page.get_by_label(f"确认 {other.title}").check()
    screenshot(page, "journey-2a-leader-ticks-the-department")
    page.get_by_role("button", name="按自评得分确认所选项").click()
    expect(flash(page, "已确认 4 项自评。")).to_be_visible()
    expect(scb).to_have_count(1)

    scb.get_by_role("link", name="调整或退回").click()
    expect(page.get_by_role("heading", name=TASK)).to_be_visible()
    page.get_by_label("确认得分").fill("65")
    page.get_by_label("调整原因").fill("产线检修延误，阶段产量缺口未补齐，自评偏高")
    screenshot(page, "journey-2b-leader-adjusts-72-to-65")
    page.get_by_role("button", name="按此得分确认").click()
    expect(flash(page, f"已确认：{TASK}")).to_be_visible()
    expect(scb).to_have_count(0)
    waiting.refresh_from_db()
    assert waiting.state == "confirmed" and waiting.confirmation.score == Decimal("65")

    queue_stage(page, 6).get_by_role("row").filter(has_text=TASK).get_by_role("link", name="调整或退回").click()
    page.get_by_label("需要修改的内容").fill(RETURN_COMMENT)
    page.get_by_role("button", name="退回", exact=True).click()
    expect(flash(page, f"已退回部门：{TASK}")).to_be_visible()
    expect(queue_stage(page, 6)).to_have_count(0)

    # The other divisions' leaders confirmed theirs (demo); the demo leader confirms the 15
    # stage-5 assessments of 安全环保部, 技术研发中心 and 华岭冶炼 still waiting, all at once.
    boxes = page.locator("#queue").get_by_role("checkbox")
    expect(boxes).to_have_count(15)
    scripts_ready(page)
    page.get_by_label("全选本页").check()
    for index in range(15):
        expect(boxes.nth(index)).to_be_checked()
    screenshot(page, "journey-2c-leader-ticks-all-on-the-page")
    page.get_by_role("button", name="按自评得分确认所选项").click()
    expect(flash(page, "已确认 15 项自评。")).to_be_visible()
    expect(page.get_by_text("没有等待您确认的自评。")).to_be_visible()
    screenshot(page, "journey-2d-leader-queue-after")
    sign_out(page)

    # --- 3. leadership group: open, meeting mode, rate red, close, minutes -----------------
    sign_in(page, "leadership", PASSWORD)
    expect(page.get_by_role("heading", name="2026 年考核评价例会")).to_be_visible()
    row_of(page, "#meetings", "第 5 阶段").get_by_role("button", name="开始例会").click()
    expect(page.get_by_role("heading", name=re.compile("评价看板"))).to_be_visible()
    # Every task has its confirmed score on the board: none is missing.
    expect(page.locator("#totals")).to_contain_text("未评分 0")
    screenshot(page, "journey-3a-group-board")

    page.get_by_role("link", name="会议模式").click()
    expect(shown_task(page)).to_have_text(FIRST_TO_DISCUSS)
    expect(page).to_have_url(re.compile(r"/reviews/meetings/\d+/present/$"))  # no ?rating=
    expect(page.locator(".present-light").get_by_text("红灯")).to_be_visible()
    page.get_by_label("处理意见").fill("连续两次红灯：发函督办，约谈责任人及分管负责人，限期整改")
    page.get_by_role("button", name="保存").click()
    expect(flash(page, f"已保存：{FIRST_TO_DISCUSS}")).to_be_visible()
    first = Rating.objects.get(meeting=meeting, task__title=FIRST_TO_DISCUSS)
    assert first.decision.startswith("连续两次红灯")
    screenshot(page, "journey-3b-group-meeting-mode-first-task-saved")

    # The staff's task: from the board filtered to 生产运营部, its row's 评价 link.
    page.get_by_role("link", name="← 评价看板").click()
    scripts_ready(page)
    page.get_by_label("部门").select_option(label=DEPARTMENT)
    rate = page.get_by_role("link", name="评价", exact=True)
    board_rows = page.locator("#board-body").get_by_role("row").filter(has=rate)
    expect(board_rows).to_have_count(5)
    staff_row = board_rows.filter(has_text=TASK)
    expect(staff_row).to_contain_text("65.0")
    expect(staff_row.get_by_text("黄灯", exact=True)).to_be_visible()  # the light, not an earlier stage's dot
    staff_row.get_by_role("link", name="评价", exact=True).click()
    expect(shown_task(page)).to_have_text(TASK)
    # Confirmed 65.0 with the leader's reason, prefilled as the final score.
    expect(page.locator(".present-facts")).to_contain_text("产线检修延误")
    score = page.get_by_label("最终得分", exact=True)
    expect(score).to_have_value(re.compile(r"^65(\.0)?$"))
    score.fill("55")
    page.get_by_label("最终得分说明").fill("连续两个阶段未达进度，产量缺口扩大")
    page.get_by_label("处理意见").fill("发函督办，约谈责任人，限期整改")
    screenshot(page, "journey-3c-group-meeting-mode-sets-55")
    page.get_by_role("button", name="保存").click()
    expect(flash(page, f"已保存：{TASK}")).to_be_visible()
    expect(page.locator(".present-light").get_by_text("红灯")).to_be_visible()
    expect(page.locator(".present-light")).to_contain_text("55.0%")
    screenshot(page, "journey-3d-group-task-is-red")

    # Closing asks first and names the red and yellow tasks still without a decision.
    page.get_by_role("link", name="← 评价看板").click()
    page.get_by_role("link", name="结束例会…").click()
    expect(page.get_by_role("heading", name=re.compile("^结束例会"))).to_be_visible()
    undecided = page.locator("#undecided")
    expect(undecided).to_contain_text("红灯、黄灯任务尚无处理意见")
    expect(undecided.get_by_role("link", name=TASK)).to_have_count(0)
    expect(undecided.get_by_role("link", name=FIRST_TO_DISCUSS)).to_have_count(0)
    screenshot(page, "journey-3e-group-close-lists-missing-decisions")
    page.get_by_role("button", name="结束例会", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("例会纪要"))).to_be_visible()
    red_row = row_of(page, "#minutes-follow-up", TASK)
    expect(red_row).to_contain_text("红灯")
    expect(red_row).to_contain_text("55.0")
    expect(red_row).to_contain_text("发函督办，约谈责任人，限期整改")
    screenshot(page, "journey-3f-group-minutes-list-the-red-task")
    meeting.refresh_from_db()
    assert meeting.state == ReviewMeeting.State.CLOSED
    case = FollowUp.objects.get(rating__meeting=meeting, rating__task=task)
    assert case.kind == "supervision" and case.state == "open"
    sign_out(page)

    # --- 4. inspector: the red case from the follow-up queue ------------------------------
    sign_in(page, "inspector", PASSWORD)
    expect(page.get_by_role("heading", name="督办队列")).to_be_visible()
    scripts_ready(page)
    page.get_by_label("灯色").select_option(label="红灯")
    case_row = row_of(page, "#cases", TASK).filter(has_text="2026年第5阶段")
    expect(case_row).to_contain_text("55.0%")
    screenshot(page, "journey-4a-inspector-follow-up-queue")
    case_row.get_by_role("link", name=TASK).click()
    expect(page.get_by_role("heading", name=re.compile(TASK))).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("发函督办，约谈责任人，限期整改")
    text = page.get_by_label("函件正文")
    expect(text).to_have_value(re.compile(f"“{TASK}”.*55.0%"))
    letter_text = text.input_value() + "请于12月5日前报送书面说明。"
    text.fill(letter_text)
    screenshot(page, "journey-4b-inspector-reads-the-letter-before-issuing-it")
    page.get_by_role("button", name="发出督办函").click()
    expect(page.locator("#case-state")).to_have_text("已通知")
    supervision = Letter.objects.get(case=case, kind="supervision")
    expect(flash(page, f"已向责任人和部门发出督办函 {supervision.number}。")).to_be_visible()
    page.get_by_label("约谈时间").fill(INTERVIEW_AT)
    page.get_by_label("约谈地点").fill("纪检监察部会议室")
    page.get_by_label("约谈参加人员").fill("赵敏、王晓明、李建国")
    page.get_by_role("button", name="安排并通知责任人").click()
    expect(page.locator("#case-state")).to_have_text("已安排约谈")
    notice = Letter.objects.get(case=case, kind="interview")
    expect(flash(page, f"已安排约谈，约谈通知 {notice.number} 已发给责任人。")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("纪检监察部会议室")
    screenshot(page, "journey-4c-inspector-letter-issued-interview-scheduled")
    sign_out(page)

    # --- 5. staff, the owner: the returned assessment, then the inbox ---------------------
    sign_in(page, "staff", PASSWORD)
    returned = page.locator("#returned")
    expect(returned).to_contain_text("被退回待修改（1）")
    expect(returned).to_contain_text(TASK)
    expect(returned).to_contain_text(RETURN_COMMENT)
    expect(returned).to_contain_text("李建国 退回")
    screenshot(page, "journey-5a-owner-sees-the-returned-assessment")
    returned.get_by_role("link", name="修改").click()
    expect(page.get_by_role("heading", name=f"第 6 阶段自评：{TASK}")).to_be_visible()
    expect(page.locator("#return-comment")).to_contain_text(RETURN_COMMENT)
    expect(page.get_by_label("完成度（%）")).to_have_value(re.compile(r"^68(\.0)?$"))

    unread = unread_count(staff)
    badge = page.locator("#inbox-count")
    expect(badge).to_have_text(str(unread))
    menu(page, "消息")
    inbox = page.locator("#inbox")
    expect(inbox.get_by_role("button", name=re.compile(f"自评被退回：{TASK}"))).to_be_visible()
    expect(badge).to_have_text(str(unread))  # listing the inbox marks nothing read
    screenshot(page, "journey-5b-owner-inbox")
    inbox.get_by_role("button", name=re.compile(re.escape(supervision.number))).click()
    letter = page.locator("#letter")
    expect(letter).to_contain_text(supervision.number)
    expect(letter).to_contain_text(letter_text)
    expect(letter).to_contain_text("发函督办，约谈责任人，限期整改")
    expect(badge).to_have_text(str(unread - 1))
    screenshot(page, "journey-5c-owner-reads-the-supervision-letter")
    menu(page, "消息")
    inbox.get_by_role("button", name=re.compile(re.escape(notice.number))).click()
    expect(page.locator("#letter")).to_contain_text("纪检监察部会议室")
    expect(badge).to_have_text(str(unread - 2))
    screenshot(page, "journey-5d-owner-reads-the-interview-notice")
    menu(page, "消息")
    page.get_by_role("button", name="全部标为已读").click()
    expect(badge).to_be_hidden()
    expect(inbox.get_by_text("未读")).to_have_count(0)
    assert unread_count(staff) == 0
