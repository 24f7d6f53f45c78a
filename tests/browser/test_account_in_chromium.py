"""A user changes their own password in a real browser, through the header's 修改密码 link:
the old password no longer signs in, the new one does."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Huangdeng-2026-qiu"


def test_staff_change_their_own_password_from_the_header(page, staff_a):
    sign_in(page, "staff_a")
    page.get_by_role("link", name="修改密码").click()
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    page.get_by_label("旧密码").fill("pw")
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("新密码确认").fill(NEW_PASSWORD)
    screenshot(page, "account-change-password")
    page.get_by_role("main").get_by_role("button", name="修改密码").click()
    expect(page.get_by_role("heading", name="密码已修改")).to_be_visible()
    screenshot(page, "account-password-changed")
    page.get_by_role("link", name="返回工作页面").click()
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
    sign_out(page)

    # The old password is refused; the new one signs in.
    page.get_by_label("用户名").fill("staff_a")
    page.get_by_label("密码", exact=True).fill("pw")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("请输入一个正确的用户名和密码"))
    sign_in(page, "staff_a", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
    staff_a.refresh_from_db()
    assert staff_a.check_password(NEW_PASSWORD)
