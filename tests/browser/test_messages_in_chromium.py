"""Messages in a real browser: a member of staff chooses, from the inbox, which messages reach
them by e-mail at once and which in the daily digest (on a desktop and on a phone); an
administrator finds a message that could not be delivered in the admin's outbox, reads why,
and re-queues it."""

import pytest
from playwright.sync_api import expect

from lightboard.roles import Role
from outbox.models import Notification, Preference
from tests.browser.conftest import PHONE, flash, menu, screenshot, sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_staff_choose_reminders_at_once_from_the_inbox(open_page, staff_a, viewport):
    page = open_page(viewport) if viewport else open_page()
    sign_in(page, "staff_a")
    menu(page, "消息")
    page.get_by_role("link", name="消息设置").click()
    expect(page.get_by_role("heading", name="消息设置")).to_be_visible()
    reminders = page.get_by_role("group", name="到期提醒")
    expect(reminders.get_by_label("每日汇总发送")).to_be_checked()  # the default
    expect(page.get_by_role("group", name="督办文书与约谈通知").get_by_label("立即发送")).to_be_checked()
    expect(page.get_by_role("group", name="领导小组每周简报")).to_have_count(0)  # not in the leadership group
    assert fits_the_screen(page)

    reminders.get_by_label("立即发送").check()
    screenshot(page, f"messages-settings-{'phone' if viewport else 'desktop'}")
    page.get_by_role("button", name="保存").click()

    expect(flash(page, "设置已保存")).to_be_visible()
    expect(page.get_by_role("group", name="到期提醒").get_by_label("立即发送")).to_be_checked()
    assert Preference.objects.get(user=staff_a, category="reminders").mode == "immediate"
    page.get_by_role("link", name="返回消息中心").click()
    expect(page.get_by_role("heading", name="消息")).to_be_visible()


def test_an_administrator_requeues_a_message_that_could_not_be_delivered(page, staff_a):
    make_user("office_admin", Role.ADMINISTRATOR, is_staff=True)
    failed = Notification.objects.create(
        recipient=staff_a, kind="letter_supervision", subject="督办函：应收账款清收", idempotency_key="browser:failed",
        state=Notification.State.FAILED, attempts=147, last_error="SMTPConnectError: (421, 'service not available')",
    )  # fmt: skip
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("office_admin")
    page.get_by_label("密码", exact=True).fill("pw")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("link", name="亮灯考核管理后台")).to_be_visible()  # administrators land in the admin
    page.get_by_role("link", name="通知", exact=True).last.click()
    page.get_by_role("link", name="发送失败").first.click()
    row = page.get_by_role("row").filter(has_text="督办函：应收账款清收")
    expect(row).to_contain_text("service not available")
    screenshot(page, "admin-outbox-failed")

    page.get_by_role("button", name="重新发送全部 1 条失败消息").click()

    expect(page.get_by_text("已重新排队发送 1 条消息。")).to_be_visible()
    failed.refresh_from_db()
    assert failed.state in (Notification.State.PENDING, Notification.State.SENT)
    assert failed.retry_until is not None
