"""People of the group sign in the way they already do elsewhere, in real Chromium: with their
directory account on the login page (a real slapd, tests/ldap_fixtures.py), and from inside
WeCom by tapping a lightboard message (the app's OAuth code flow, against the local stand-in
of WeCom in tests/fake_workapps.py). On a 390 px phone, where they mostly read these."""

import pytest
from playwright.sync_api import expect

from lightboard.roles import Role
from outbox import delivery
from outbox import services as outbox_services
from tasks.models import Department
from tests.browser.conftest import PHONE, screenshot, sign_in, sign_out
from tests.conftest import make_user
from tests.fake_workapps import fake_workapps_server_fixture, workapps_fixture  # noqa: F401 - fixtures
from tests.ldap_fixtures import LEADER_GROUP, STAFF_GROUP, directory, map_groups, slapd  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What WeCom's own browser calls itself (its User-Agent carries "wxwork").
WECOM_BROWSER = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh"
)


def fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_directory_account_signs_in_on_the_phone_and_its_role_follows_the_directory(
    open_page,
    directory,  # noqa: F811
):
    map_groups(department=Department.objects.create(code="SCYY", name="生产运营部"))
    page = open_page(PHONE)

    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("zhangsan")
    page.get_by_label("密码", exact=True).fill("a-wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("button", name="退出")).to_have_count(0)

    sign_in(page, "zhangsan", "zs-secret")
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
    expect(page.get_by_text("张三").first).to_be_visible()
    fits_the_phone(page)
    screenshot(page, "directory-sign-in-phone")
    sign_out(page)

    # The directory moves 张三 from the staff to the division leaders: at the next sign-in
    # lightboard follows, and 我的任务 is no longer his.
    directory.remove_member(STAFF_GROUP, "zhangsan")
    directory.add_member(LEADER_GROUP, "zhangsan")
    sign_in(page, "zhangsan", "zs-secret")
    expect(page.get_by_role("heading", name="待确认自评")).to_be_visible()
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的任务")).to_have_count(0)
    fits_the_phone(page)


def test_tapping_a_lightboard_message_inside_wecom_signs_the_person_in_on_that_page(
    browser,
    open_page,
    live_server,
    workapps,  # noqa: F811
    settings,
    monkeypatch,
):
    settings.SITE_URL = live_server.url
    # This test delivers the outbox itself, here; a Celery worker of another test in this
    # process (with other settings) must not be told to take the message first.
    monkeypatch.setattr("outbox.tasks._signal_workers", lambda: None)
    zhang = make_user("zhang", Role.STAFF, name="张三", wecom_userid="wx-zhang", dingtalk_userid="")
    workapps.add_users(wecom=["wx-zhang"])
    workapps.signed_in["wecom"] = "wx-zhang"

    # A message to 张三 goes out to WeCom as a card whose button opens lightboard.
    outbox_services.notify(
        recipient=zhang, kind="letter_supervision", subject="督办函", key="wecom-journey", link="/inbox/"
    )
    delivery.deliver_due()
    [card] = [send["body"]["textcard"] for send in workapps.shown("wecom")]
    assert card["title"] == "督办函"

    # Tapping it in WeCom's browser: signed in without a password, on the page the card named.
    context = browser.new_context(locale="zh-CN", viewport=PHONE, user_agent=WECOM_BROWSER)
    try:
        page = context.new_page()
        page.set_content(f'<h1>{card["title"]}</h1><a href="{card["url"]}">{card["btntxt"]}</a>')  # the card
        page.get_by_role("link", name=card["btntxt"]).click()
        expect(page.get_by_role("button", name="退出")).to_be_visible()
        expect(page.get_by_text("督办函").first).to_be_visible()
        assert page.url.startswith(live_server.url + "/inbox/")
        fits_the_phone(page)
        screenshot(page, "wecom-message-opened-phone")
    finally:
        context.close()

    # On a desktop browser the login page offers WeCom beside the password.
    page = open_page()
    page.goto("/accounts/login/")
    page.get_by_role("link", name="企业微信登录").click()
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
