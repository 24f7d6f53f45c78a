"""A red result followed up in a real browser: the inspector issues the supervision letter,
schedules and records the interview and closes the case; the owner reads both documents."""

import datetime

import pytest
from django.utils import timezone

from lightboard.roles import Role
from reviews import services as review_services
from reviews.models import FollowUp
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


def test_inspector_works_a_red_case_and_the_owner_sees_the_letter_and_the_notice(page, department_a, leader_a, staff_a):
    today = timezone.localdate()
    year = services.create_assessment_year(year=today.year)
    stage = next(s for s in year.stages.all() if s.start <= today <= s.end)
    chair = make_user("chen", Role.LEADERSHIP, name="陈志远")
    make_user("zhao", Role.INSPECTOR, name="赵敏")
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="冶炼回收率提升")
    assessment = SelfAssessment.objects.create(
        task=task, stage=stage, completion=45, account="进度滞后", state="submitted", submitted_at=timezone.now()
    )
    review_services.confirm_as_submitted(assessments=[(assessment.pk, assessment.version)], by=leader_a)
    meeting = review_services.schedule_meeting(
        stage=stage, date=stage.meeting_date, place="三楼会议室", attendees=[chair], by=chair
    )
    review_services.open_meeting(meeting=meeting, by=chair)
    review_services.close_meeting(meeting=meeting, by=chair)
    case = FollowUp.objects.get()
    assert case.kind == "supervision"

    sign_in(page, "zhao")
    page.wait_for_url("**/reviews/followups/")
    page.click(f"tr[data-case='{case.pk}'] a")
    page.click("#step-supervision button[type=submit]")
    assert page.locator("#case-state").inner_text() == "已通知"
    letter_number = page.locator("#case-actions, .facts").first.inner_text()
    assert f"纪督〔{today.year}〕1号" in letter_number
    when = (timezone.localtime() + datetime.timedelta(days=2)).replace(hour=9, minute=30)
    page.fill("#step-interview input[name=at]", when.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#step-interview input[name=place]", "纪检监察部会议室")
    page.fill("#step-interview input[name=participants]", "赵敏、staff_a")
    page.click("#step-interview button[type=submit]")
    assert page.locator("#case-state").inner_text() == "已安排约谈"
    page.fill("#step-record textarea[name=record]", "责任人说明了滞后原因，承诺两周内提交整改方案。")
    page.click("#step-record button[type=submit]")
    assert page.locator("#case-state").inner_text() == "已约谈"
    page.fill("#step-close textarea[name=conclusion]", "整改措施已落实，结案。")
    screenshot(page, "inspector-closes-the-case")
    page.click("#step-close button[type=submit]")
    assert page.locator("#case-state").inner_text() == "已结案"
    page.click("form[action='/accounts/logout/'] button")
    page.wait_for_url("**/accounts/login/")

    sign_in(page, "staff_a")
    page.wait_for_url("**/tasks/mine/")
    assert page.locator("#inbox-count").inner_text().strip() != ""
    page.click("nav a[href='/inbox/']")
    inbox = page.locator("#inbox").inner_text()
    assert f"纪督〔{today.year}〕1号" in inbox and f"纪谈〔{today.year}〕1号" in inbox
    page.locator("#inbox").get_by_role("button", name="纪督").first.click()
    assert "发函督办" in page.locator("#letter").inner_text() or "督办" in page.locator("#letter").inner_text()
    assert f"纪督〔{today.year}〕1号" in page.locator("#letter").inner_text()
    screenshot(page, "owner-reads-the-supervision-letter")
    page.click("nav a[href='/inbox/']")
    page.locator("#inbox").get_by_role("button", name="纪谈").first.click()
    assert "纪检监察部会议室" in page.locator("#letter").inner_text()
    screenshot(page, "owner-reads-the-interview-notice")
