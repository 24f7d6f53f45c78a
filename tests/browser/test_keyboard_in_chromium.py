"""Meeting mode without a mouse, in real Chromium: the leadership signs in, opens the meeting
and steps through the tasks with the keyboard alone (Tab, Enter, the arrow keys and Esc), and
wherever the focus is, it can be seen."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from reviews.demo import load_review_demo
from tasks.demo import load_demo_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = datetime.date(2026, 11, 25)  # stage 6 of 2026; stage 5's meeting is scheduled
FIRST_TO_DISCUSS = "出口订单拓展"  # meeting mode starts with the red tasks


@pytest.fixture
def demo(settings):
    settings.LIGHTBOARD_TODAY = TODAY
    year = load_demo_data(today=TODAY)
    load_review_demo(year, today=TODAY)
    return year


FOCUSED = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  return {tag: e.tagName, text: (e.innerText || e.value || e.getAttribute("aria-label") || "").trim(),
          name: e.getAttribute("name") || "", outline: style.outlineStyle,
          width: parseFloat(style.outlineWidth), colour: style.outlineColor};
}"""


def focused(page):
    return page.evaluate(FOCUSED)


def assert_focus_visible(page):
    now = focused(page)
    assert now["outline"] not in ("none", "") and now["width"] >= 2, f"focus not visible on {now}"


def tab_to(page, matches, limit=60):
    """Press Tab until the focused element matches (checking the ring on each stop)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if now["tag"] != "BODY":
            assert_focus_visible(page)
        if matches(now):
            return now
    raise AssertionError(f"Tab never reached it; last focus {focused(page)}")


def test_meeting_mode_by_keyboard_alone(page, demo):
    page.goto("/accounts/login/")
    expect(page.get_by_label("用户名")).to_be_focused()  # the login form starts at the username
    page.keyboard.type("leadership")
    tab_to(page, lambda e: e["name"] == "password")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    expect(page.locator("#meetings")).to_be_visible()

    # On a new page the first Tab reaches the skip link, which shows itself; Enter moves on to
    # the page's own content, past the menu.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name=re.compile("^跳到"))  # 跳到正文
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    tab_to(page, lambda e: e["text"] == "开始例会")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="评价看板")).to_be_visible()
    tab_to(page, lambda e: e["text"] == "会议模式")
    page.keyboard.press("Enter")
    title = page.get_by_role("heading", level=1)
    expect(title).to_have_text(FIRST_TO_DISCUSS)
    expect(page.locator("#present-keys")).to_contain_text("Esc")  # the keys, on screen

    # → goes to the next task; its title takes the focus, so a screen reader reads it.
    page.locator("body").press("ArrowRight")
    expect(title).not_to_have_text(FIRST_TO_DISCUSS)
    second = title.inner_text()
    expect(title).to_be_focused()
    # Tab goes on from the title to the form, with a visible ring at each stop, to Save.
    tab_to(page, lambda e: e["name"] == "final_score")
    # Esc leaves the field; ← then goes back to the first task.
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowLeft")
    expect(title).to_have_text(FIRST_TO_DISCUSS)
    expect(title).to_be_focused()
    tab_to(page, lambda e: e["text"] == "保存")
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(second)
    # Esc outside a field goes back to the board.
    page.keyboard.press("Escape")
    expect(page.get_by_role("heading", name="评价看板")).to_be_visible()
