"""A red result followed up in a real browser, each role from the login page by clicking:

- the inspector opens the case from the follow-up queue, reads the supervision letter's text
  before issuing it (函件正文), edits it, issues it and is told the letter's number; schedules
  the interview (the case cannot close while it is pending), records it and closes the case
  with the reason for closing it without an accepted rectification;
- the owner finds the letter and the interview notice in the inbox (消息): listing the inbox
  marks nothing read, opening a message (its subject is a button) marks it read and shows the
  letter with the inspector's words, 全部标为已读 clears the rest;
- the owner acknowledges (签收) a supervision letter from the inbox, sees the reply date and
  downloads the letter as a Word document and as a PDF; a
  colleague of the department acknowledges another for its owner; the inspector sees both on
  the case pages."""

import re

import pytest
from django.utils import timezone
from docx import Document
from playwright.sync_api import expect
from pypdf import PdfReader

from lightboard.roles import Role
from outbox.queries import unread_count
from reviews import cases
from reviews.models import FollowUp, Letter
from tasks import services
from tests.browser.conftest import PHONE, flash, menu, screenshot, sign_in, sign_out
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, confirm, interview_time, open_meeting, typed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TASK = "冶炼回收率提升"
LETTER_TEXT = "经考核评价例会研究，“冶炼回收率提升”任务得分45.0%，亮红灯。请于十个工作日内报送书面说明和整改方案。"


def test_inspector_works_a_red_case_and_the_owner_reads_the_letter_and_the_notice(
    page, department_a, leader_a, staff_a
):
    today = timezone.localdate()
    year = services.create_assessment_year(year=today.year)
    stage = next(s for s in year.stages.all() if s.start <= today <= s.end)
    chair = make_user("chen", Role.LEADERSHIP, name="陈志远")
    make_user("zhao", Role.INSPECTOR, name="赵敏")
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=TASK)
    confirm(task, stage, 45)
    meeting = open_meeting(stage, chair, attendees=[chair])
    close(meeting, chair)
    case = FollowUp.objects.get()
    assert case.kind == "supervision"
    supervision_number = f"纪督〔{today.year}〕1号"
    notice_number = f"纪谈〔{today.year}〕1号"

    # --- The inspector ----------------------------------------------------------------------
    sign_in(page, "zhao")
    expect(page.get_by_role("heading", name="督办队列")).to_be_visible()
    page.locator("#cases").get_by_role("link", name=TASK).click()
    expect(page.get_by_role("heading", name=re.compile(TASK))).to_be_visible()
    expect(page.locator("#case-state")).to_have_text("待处理")
    # Before the letter, only issuing it (and escalating): nothing to close yet.
    expect(page.get_by_role("button", name="结案")).to_have_count(0)
    text = page.get_by_label("函件正文")
    expect(text).to_have_value(re.compile(f"“{TASK}”.*45.0%"))
    screenshot(page, "inspector-reads-the-letter-before-issuing-it")
    text.fill(LETTER_TEXT)
    page.get_by_role("button", name="发出督办函").click()
    expect(flash(page, f"已向责任人和部门发出督办函 {supervision_number}。")).to_be_visible()
    expect(page.locator("#case-state")).to_have_text("已通知")
    expect(page.get_by_role("link", name=f"督办函 {supervision_number}")).to_be_visible()
    screenshot(page, "inspector-letter-issued")

    page.get_by_label("约谈时间").fill(typed(interview_time(days=2)))
    page.get_by_label("约谈地点").fill("纪检监察部会议室")
    page.get_by_label("约谈参加人员").fill("赵敏、staff_a")
    page.get_by_role("button", name="安排并通知责任人").click()
    expect(flash(page, f"已安排约谈，约谈通知 {notice_number} 已发给责任人。")).to_be_visible()
    expect(page.locator("#case-state")).to_have_text("已安排约谈")
    expect(page.get_by_role("button", name="结案")).to_have_count(0)

    page.get_by_label("约谈记录").fill("责任人说明了滞后原因，承诺两周内提交整改方案。")
    page.get_by_role("button", name="保存记录").click()
    expect(flash(page, "约谈记录已保存。")).to_be_visible()
    expect(page.locator("#case-state")).to_have_text("已约谈")
    page.get_by_label("结论").fill("整改措施已落实，结案。")
    # No rectification was accepted: closing says why, on the record.
    page.get_by_role("button", name="结案").click()
    expect(page.locator(".field-reason .field-error")).to_contain_text("本案整改尚未审核通过")
    page.get_by_label("未经整改审核通过即结案的理由").fill("约谈后任务已按集团决定调整，不再整改。")
    screenshot(page, "inspector-closes-the-case")
    page.get_by_role("button", name="结案").click()
    expect(flash(page, "已结案。")).to_be_visible()
    expect(page.locator("#case-state")).to_have_text("已结案")
    sign_out(page)

    # --- The owner: the inbox -----------------------------------------------------------------
    unread = unread_count(staff_a)
    # The confirmation, the meeting's red light, the supervision letter, the interview notice.
    assert unread == 4
    sign_in(page, "staff_a")
    badge = page.locator("#inbox-count")
    expect(badge).to_have_text(str(unread))
    menu(page, "消息")
    expect(page.get_by_role("heading", name="消息")).to_be_visible()
    inbox = page.locator("#inbox")
    # Listing the inbox marks nothing read.
    expect(badge).to_have_text(str(unread))
    expect(inbox.get_by_text("未读")).to_have_count(unread)
    screenshot(page, "owner-inbox")

    inbox.get_by_role("button", name=re.compile(supervision_number)).click()
    letter = page.locator("#letter")
    expect(letter).to_contain_text(supervision_number)
    expect(letter).to_contain_text(LETTER_TEXT)  # the inspector's words, not the default text
    expect(badge).to_have_text(str(unread - 1))
    screenshot(page, "owner-reads-the-supervision-letter")
    # The case is closed: there is nothing left to acknowledge.
    expect(page.locator("#acknowledgement")).to_contain_text("尚未签收")
    expect(page.locator("#acknowledgement").get_by_role("button", name="签收")).to_have_count(0)

    menu(page, "消息")
    row = inbox.get_by_role("row").filter(has=page.get_by_role("button", name=re.compile(supervision_number)))
    expect(row.get_by_text("未读")).to_have_count(0)
    inbox.get_by_role("button", name=re.compile(notice_number)).click()
    expect(page.locator("#letter")).to_contain_text("纪检监察部会议室")
    expect(badge).to_have_text(str(unread - 2))
    screenshot(page, "owner-reads-the-interview-notice")

    menu(page, "消息")
    expect(inbox.get_by_text("未读")).to_have_count(unread - 2)
    page.get_by_role("button", name="全部标为已读").click()
    expect(inbox.get_by_text("未读")).to_have_count(0)
    expect(badge).to_be_hidden()
    expect(page.get_by_role("button", name="全部标为已读")).to_have_count(0)
    assert unread_count(staff_a) == 0
    assert Letter.objects.get(kind="supervision").body == LETTER_TEXT


def test_the_owner_and_a_colleague_acknowledge_letters_and_the_inspector_sees_it(open_page, department_a, staff_a):
    today = timezone.localdate()
    year = services.create_assessment_year(year=today.year)
    stage = next(s for s in year.stages.all() if s.start <= today <= s.end)
    chair = make_user("chen", Role.LEADERSHIP, name="陈志远")
    inspector = make_user("zhao", Role.INSPECTOR, name="赵敏")
    make_user("li", Role.STAFF, departments=[department_a], name="李敏")
    titles = (TASK, "设备大修")
    tasks = [KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=title) for title in titles]
    for task in tasks:
        confirm(task, stage, 45)
    meeting = open_meeting(stage, chair, attendees=[chair])
    close(meeting, chair)
    for case in FollowUp.objects.order_by("pk"):
        cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    first, second = (Letter.objects.get(case__rating__task=task).number for task in tasks)

    # The owner, on a phone: 消息 → the letter → 签收.
    page = open_page(PHONE)
    sign_in(page, "staff_a")
    menu(page, "消息")
    page.locator("#inbox").get_by_role("button", name=re.compile(re.escape(first))).click()
    acknowledgement = page.locator("#acknowledgement")
    expect(acknowledgement).to_contain_text("尚未签收")
    acknowledgement.get_by_role("button", name="签收").click()
    expect(flash(page, f"已签收：{first}")).to_be_visible()
    expect(acknowledgement).to_contain_text("回复期限")
    expect(acknowledgement.get_by_role("button", name="签收")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "owner-acknowledged-the-supervision-letter-phone")
    # The letter as a Word document: python-docx reads its number back.
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Word 文档（.docx）").click()
    document = Document(download.value.path())
    assert first in [paragraph.text for paragraph in document.paragraphs]
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    assert first in PdfReader(download.value.path()).pages[0].extract_text()
    sign_out(page)

    # A colleague of the department, for the owner: from the case page's letter link.
    page = open_page()
    sign_in(page, "li")
    menu(page, "消息")
    page.locator("#inbox").get_by_role("button", name=re.compile(re.escape(second))).click()
    page.locator("#acknowledgement").get_by_role("button", name="签收").click()
    expect(page.locator("#acknowledgement")).to_contain_text("李敏")
    expect(page.locator("#acknowledgement")).to_contain_text("代 staff_a")
    sign_out(page)

    # The inspector sees both acknowledged, with their reply dates, on the case pages.
    sign_in(page, "zhao")
    page.locator("#cases").get_by_role("link", name=TASK).click()
    expect(page.get_by_text(re.compile("^已签收，回复期限"))).to_be_visible()
    expect(page.get_by_text("函件已签收").first).to_be_visible()
    screenshot(page, "inspector-sees-the-letter-acknowledged")
