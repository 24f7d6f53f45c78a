"""The other half of the loop, each role from the login page by clicking (issue 13):

- the inspector issues a supervision letter from the follow-up queue;
- the owner, on a phone, opens it from the inbox, acknowledges it (签收), downloads it as a Word
  document (python-docx reads the number back), goes to the case and submits a rectification
  plan and a report with an evidence file;
- the inspector sees both awaiting review in the queue, accepts the plan and returns the report
  with a comment; the owner is told, reads the comment and submits the report again; the inspector
  accepts it and closes the case (销号) with no reason asked;
- a member of the leadership group gives an instruction (批示) on the task, shown at its top;
  at the next meeting, run and closed by clicks, the minutes list it."""

import re

import pytest
from django.utils import timezone
from docx import Document
from playwright.sync_api import expect

from lightboard.roles import Role
from reviews import cases
from reviews.models import FollowUp, Rectification
from tasks import services
from tests.browser.conftest import PHONE, flash, menu, screenshot, sign_in, sign_out
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, confirm, open_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TASK = "冶炼回收率提升"
INSTRUCTION = "回收率关系全年利润目标，务必在下阶段前补齐缺口，每两周向领导小组报告一次。"


def fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_letter_acknowledged_rectified_returned_resubmitted_accepted_closed_and_instructed(
    open_page, department_a, staff_a, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    year = services.create_assessment_year(year=timezone.localdate().year)
    red_stage, next_stage = year.stages.get(number=4), year.stages.get(number=5)
    chair = make_user("chen", Role.LEADERSHIP, name="陈志远")
    make_user("zhao", Role.INSPECTOR, name="赵敏")
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=TASK)
    confirm(task, red_stage, 45)
    close(open_meeting(red_stage, chair, attendees=[chair]), chair)
    confirm(task, next_stage, 85)
    number = f"纪督〔{year.year}〕1号"
    evidence = tmp_path / "设备验收单.pdf"
    evidence.write_bytes(b"%PDF-1.4 acceptance certificate")

    # --- The inspector issues the supervision letter -------------------------------------------
    page = open_page()
    sign_in(page, "zhao")
    page.locator("#cases").get_by_role("link", name=TASK).click()
    page.get_by_role("button", name="发出督办函").click()
    expect(flash(page, f"已向责任人和部门发出督办函 {number}。")).to_be_visible()
    sign_out(page)

    # --- The owner, on a phone: inbox → letter → 签收 → Word → the case → plan and report --------
    phone = open_page(PHONE)
    sign_in(phone, "staff_a")
    menu(phone, "消息")
    phone.locator("#inbox").get_by_role("button", name=re.compile(re.escape(number))).click()
    phone.locator("#acknowledgement").get_by_role("button", name="签收").click()
    expect(flash(phone, f"已签收：{number}")).to_be_visible()
    with phone.expect_download() as download:
        phone.get_by_role("link", name="下载 Word 文档（.docx）").click()
    assert number in [paragraph.text for paragraph in Document(download.value.path()).paragraphs]
    phone.get_by_role("link", name="督办事项").click()
    expect(phone.get_by_role("heading", name=re.compile(TASK))).to_be_visible()
    expect(phone.locator("#case-state")).to_have_text("已通知")
    # A report follows the plan: before it, only the plan is offered.
    expect(phone.get_by_role("button", name="报送整改报告")).to_have_count(0)
    phone.get_by_label("整改措施").fill("调整配料结构，更换两台老化的回收设备，每周复盘回收率。")
    phone.get_by_label("整改责任人").fill("staff_a")
    phone.get_by_label("完成时限").fill((timezone.localdate() + timezone.timedelta(days=30)).isoformat())
    phone.get_by_role("button", name="报送整改方案").click()
    expect(flash(phone, "整改方案已报送，待纪检审核。")).to_be_visible()
    expect(phone.locator("#case-state")).to_have_text("整改中")
    phone.get_by_label("整改落实情况").fill("两台设备已更换，回收率本月回升至92%。")
    phone.get_by_label("佐证材料").set_input_files(str(evidence))
    phone.get_by_role("button", name="报送整改报告").click()
    expect(flash(phone, "整改报告已报送，待纪检审核。")).to_be_visible()
    expect(phone.locator("#rectifications").get_by_role("link", name="设备验收单.pdf")).to_be_visible()
    fits_the_phone(phone)
    screenshot(phone, "owner-submitted-plan-and-report-phone")
    sign_out(phone)

    # --- The inspector: two to review; accepts the plan, returns the report ----------------------
    sign_in(page, "zhao")
    row = page.locator("#cases").get_by_role("row").filter(has_text=TASK)
    expect(row).to_contain_text("待审核 2 项")
    row.get_by_role("link", name=TASK).click()
    waiting = page.locator(".rectification.submitted")
    expect(waiting).to_have_count(2)
    plan = waiting.filter(has=page.get_by_role("heading", name=re.compile("整改方案")))
    plan.get_by_role("button", name="通过").click()
    expect(flash(page, "审核意见已保存并通知责任人。")).to_be_visible()
    report = page.locator(".rectification.submitted")
    expect(report).to_have_count(1)
    # Returning asks for what is missing, next to the field.
    report.get_by_role("button", name="退回").click()
    expect(page.locator(".rectification.submitted .field-error")).to_contain_text("请写明欠缺之处")
    page.locator(".rectification.submitted").get_by_label("审核意见").fill("请补充回收率月度统计表")
    page.locator(".rectification.submitted").get_by_role("button", name="退回").click()
    expect(flash(page, "审核意见已保存并通知责任人。")).to_be_visible()
    expect(page.locator(".rectification.returned")).to_contain_text("请补充回收率月度统计表")
    screenshot(page, "inspector-returned-the-report")
    sign_out(page)

    # --- The owner reads why and submits the report again ----------------------------------------
    sign_in(phone, "staff_a")
    menu(phone, "消息")
    phone.locator("#inbox").get_by_role("button", name=re.compile("已退回：整改报告")).click()
    expect(phone.locator(".rectification.returned")).to_contain_text("请补充回收率月度统计表")
    phone.get_by_label("整改落实情况").fill("两台设备已更换；附回收率月度统计表，本月92%。")
    phone.get_by_label("佐证材料").set_input_files(str(evidence))
    phone.get_by_role("button", name="报送整改报告").click()
    expect(flash(phone, "整改报告已报送，待纪检审核。")).to_be_visible()
    fits_the_phone(phone)
    sign_out(phone)

    # --- The inspector accepts it and closes the case: no reason asked ---------------------------
    sign_in(page, "zhao")
    page.locator("#cases").get_by_role("link", name=TASK).click()
    page.locator(".rectification.submitted").get_by_role("button", name="通过").click()
    expect(flash(page, "审核意见已保存并通知责任人。")).to_be_visible()
    expect(page.get_by_label("未经整改审核通过即结案的理由")).to_have_count(0)
    page.get_by_label("结论").fill("整改措施已落实，回收率恢复，予以销号。")
    page.get_by_role("button", name="结案").click()
    expect(flash(page, "已结案。")).to_be_visible()
    expect(page.locator("#case-state")).to_have_text("已结案")
    screenshot(page, "inspector-closed-the-case-on-the-accepted-report")
    sign_out(page)
    case = FollowUp.objects.get()
    assert case.closed_unaccepted_reason == ""
    assert list(case.rectifications.values_list("kind", "state")) == [
        ("plan", "accepted"),
        ("report", "returned"),
        ("report", "accepted"),
    ]
    assert Rectification.objects.get(state="accepted", kind="report").files.count() == 1

    # --- The leadership: an instruction on the task, then the next meeting's minutes -------------
    sign_in(page, "chen")
    menu(page, "任务清单")
    page.get_by_role("link", name=department_a.name).click()
    page.get_by_role("link", name=TASK).click()
    page.get_by_label("发表评论").fill(INSTRUCTION)
    page.get_by_label("作为领导批示").check()
    page.get_by_role("button", name="发表").click()
    expect(flash(page, "批示已记录，已通知责任人和部门。")).to_be_visible()
    expect(page.locator("#instructions")).to_contain_text(INSTRUCTION)
    screenshot(page, "leadership-instruction-at-the-top-of-the-task")

    menu(page, "考核例会")
    page.get_by_label("阶段").select_option(label=str(next_stage))
    page.get_by_label("日期").fill(next_stage.meeting_date.isoformat())
    page.get_by_label("陈志远").check()
    page.get_by_role("button", name="安排", exact=True).click()
    expect(flash(page, f"已安排例会：{next_stage}")).to_be_visible()
    row = page.locator("#meetings").get_by_role("row").filter(has_text=f"第 {next_stage.number} 阶段")
    row.get_by_role("button", name="开始例会").click()
    # Green on its confirmed 85: nothing to discuss, the meeting closes at once.
    expect(page.locator("#totals")).to_contain_text("绿灯 1")
    page.get_by_role("link", name="结束例会…").click()
    page.get_by_role("button", name="结束例会", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("例会纪要"))).to_be_visible()
    listed = page.locator("#minutes-instructions")
    expect(listed).to_contain_text(INSTRUCTION)
    expect(listed).to_contain_text("陈志远")
    screenshot(page, "next-minutes-list-the-instruction")
    assert cases.is_rectified(case)
