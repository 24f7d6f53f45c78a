"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright for Python.

Playwright's own browser download is not used. Where Chromium is missing the browser
tests are skipped with a plain reason, except when LIGHTBOARD_REQUIRE_BROWSER=1 (CI):
there a missing browser is a failure.

The tests walk as users do (STYLE.md, "Playwright's own guidance"): each journey opens the
login page and reaches everything else by clicking what a person sees, found by role, label
or text, and asserts with `expect`, which waits for the page to settle. The helpers here are
the steps every journey shares: signing in and out, and the site menu."""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1920, "height": 1080}

# A page that is still being replaced after a click can take a moment on a busy CI machine.
expect.set_options(timeout=10_000)


def chromium_path():
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if not path:
        message = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("LIGHTBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by
    # the test itself (fixtures, assertions) are synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def csp_violations():
    """The Content-Security-Policy violations the browser reported during the test."""
    return []


@pytest.fixture
def open_page(browser, live_server, csp_violations):
    """Open a page on the live server in a fresh browser context (its own cookies) of the given
    viewport: open_page() is a desktop, open_page(PHONE) a phone, open_page(PROJECTOR) the
    meeting room's projector."""
    contexts = []

    def open_page(viewport=DESKTOP):
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on(
            "console",
            lambda message: csp_violations.append(message.text) if "Content Security Policy" in message.text else None,
        )
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    """A desktop page (1280×900) on the live server."""
    return open_page()


def screenshot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def no_content_security_policy_violations(request):
    """Every browser test also proves the pages work under the Content-Security-Policy."""
    if "open_page" not in request.fixturenames:
        yield
        return
    violations = request.getfixturevalue("csp_violations")
    yield
    assert violations == []


# --- the steps every journey shares ----------------------------------------------------------


def sign_in(page, username, password="pw"):
    """Open the login page (the only address a journey types) and sign in; the user lands on
    their main screen."""
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()


def menu(page, entry):
    """Click an entry of the site menu (我的任务, 评价确认, 考核例会, 督办跟踪, 统计报表, 消息 …)."""
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=entry).click()


def flash(page, text):
    """The message the page shows after an action (已保存：…, 已退回部门：…)."""
    return page.locator(".messages").get_by_text(text)


def scripts_ready(page):
    """Wait until the page's (deferred) scripts have run before using what they drive: the
    keyboard shortcuts, a light preview, a filter, 全选本页. A person cannot act before the page
    has loaded; a test, which sees an element as soon as it is parsed, can."""
    page.wait_for_load_state("domcontentloaded")
