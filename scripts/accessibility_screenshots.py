"""Screenshots of the board, meeting mode and the group heat map, at 1920×1080 and at 200 % zoom.

Run against a demo (`make demo`, or any server loaded with `manage.py seed_demo`):

    .venv/bin/python scripts/accessibility_screenshots.py http://127.0.0.1:8000 \
        tests/artifacts/accessibility after

writes <out dir>/<prefix>-<page>-<1920|200pct>.png for page = board, meeting-mode, heatmap.
It signs in as the demo login `leadership` (password `demo`) and reaches each page by clicking,
as a person would. 200 % browser zoom is emulated as the browser does it: half as many CSS
pixels (960×540) drawn at twice the density (device_scale_factor 2).
"""

import argparse
import os
import shutil
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

SIZES = {
    "1920": {"viewport": {"width": 1920, "height": 1080}, "device_scale_factor": 1},
    "200pct": {"viewport": {"width": 960, "height": 540}, "device_scale_factor": 2},
}


def sign_in(page, base_url, username, password):
    page.goto(base_url.rstrip("/") + "/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def menu(page, entry):
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=entry).click()


def shoot(page, out_dir, prefix, name, size):
    page.wait_for_load_state("networkidle")
    path = Path(out_dir) / f"{prefix}-{name}-{size}.png"
    page.screenshot(path=str(path), full_page=False)
    print(path)


def run(base_url, out_dir, prefix, username, password):
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        for size, options in SIZES.items():
            context = browser.new_context(locale="zh-CN", **options)
            page = context.new_page()
            sign_in(page, base_url, username, password)
            # The board of a meeting that is taking ratings (it also has meeting mode). The demo
            # has one scheduled and none open: the first run opens it, as the leadership would.
            menu(page, "考核例会")
            start = page.locator("#meetings").get_by_role("button", name="开始例会")
            if not page.locator("#meetings").get_by_role("link", name="会议模式").count() and start.count():
                start.first.click()
                expect(page.get_by_role("link", name="会议模式").first).to_be_visible()
                menu(page, "考核例会")
            row = page.locator("#meetings").get_by_role("row").filter(has=page.get_by_role("link", name="会议模式"))
            row.first.get_by_role("link", name="评价看板").click()
            expect(page.get_by_role("heading", name="评价看板")).to_be_visible()
            shoot(page, out_dir, prefix, "board", size)
            page.get_by_role("link", name="会议模式").click()
            expect(page.locator(".present")).to_be_visible()
            shoot(page, out_dir, prefix, "meeting-mode", size)
            # Meeting mode hides the site menu: back to the board first.
            page.get_by_role("link", name="评价看板").first.click()
            menu(page, "统计报表")
            expect(page.locator("#heatmap")).to_be_visible()
            page.locator("#heatmap").scroll_into_view_if_needed()
            shoot(page, out_dir, prefix, "heatmap", size)
            context.close()
        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the running demo, e.g. http://127.0.0.1:8000")
    parser.add_argument("out_dir", help="where the PNG files go")
    parser.add_argument("prefix", help="file name prefix, e.g. before or after")
    parser.add_argument("--username", default="leadership")
    parser.add_argument("--password", default="demo")
    args = parser.parse_args()
    run(args.base_url, args.out_dir, args.prefix, args.username, args.password)


if __name__ == "__main__":
    main()
