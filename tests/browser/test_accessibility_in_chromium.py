"""Every page each role reaches, checked by axe-core in real Chromium, on a desktop and a phone.

Over the demo on 25 November 2026 (the story of test_journeys_in_chromium.py), each role signs
in at the login page and clicks through every entry of its menu and, from there, the first link
of each kind: a task, its self-assessment, a confirmation, a task list, the board of a meeting,
meeting mode, the minutes, a follow-up case, its letter, the reports' tabs with the heat map and
a task's chart, the inbox, its settings and the password change. On each page axe-core (from the
npm registry, `make axe`) runs with the WCAG 2.0/2.1 A and AA rules and axe's best practices, at
1280 px and again at 390 px; any serious or critical violation fails the test and is listed.

The results are written to tests/artifacts/accessibility/axe-<role>.json and .md, and
summary.md over every role that ran.

The pages must also stay usable at 200 % browser zoom (960×540 CSS pixels drawn at twice the
density): no sideways scrolling of the page (a wide table scrolls in its own box) and no part of
the header lying over another."""

import datetime
import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from api import services
from api.models import IntegrationAccount
from directory.models import DirectoryGroupMapping
from reviews.demo import load_review_demo
from tasks.demo import load_demo_data
from tasks.models import Department, User
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, menu, scripts_ready, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = datetime.date(2026, 11, 25)  # stage 6 of 2026; stage 5's meeting is scheduled
PASSWORD = "demo"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
REPORTS = ARTIFACTS / "accessibility"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SERIOUS = {"serious", "critical"}
ZOOM_200 = {"viewport": {"width": 960, "height": 540}, "device_scale_factor": 2}

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: tags, resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  targets: v.nodes.map((n) => n.target.join(" "))}));
}"""


@pytest.fixture(scope="session")
def axe_source():
    if not AXE.exists():
        message = "axe-core is not installed (make axe, or npm ci)"
        if os.environ.get("LIGHTBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def demo(settings):
    """The demo as it stands on 25 November 2026 (LIGHTBOARD_TODAY pinned, the live server
    runs in a thread of this process and sees it too)."""
    settings.LIGHTBOARD_TODAY = TODAY
    year = load_demo_data(today=TODAY)
    load_review_demo(year, today=TODAY)
    return year


class Axe:
    """Runs axe-core on the page the browser shows, at the desktop and the phone width."""

    def __init__(self, page, role, source):
        self.page, self.role, self.source = page, role, source
        self.pages = []  # (page name, width, violations)

    def check(self, name):
        page = self.page
        page.wait_for_load_state("load")
        scripts_ready(page)
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            # evaluate() is not subject to the page's Content-Security-Policy (no script tag).
            if not page.evaluate("typeof window.axe !== 'undefined'"):
                page.evaluate(self.source)
            violations = page.evaluate(RUN_AXE, RULES)
            self.pages.append({"page": name, "url": page.url, "width": viewport["width"], "violations": violations})
        page.set_viewport_size(DESKTOP)

    def failures(self):
        """The serious and critical violations (the report lists the moderate and minor too)."""
        return [(entry, v) for entry in self.pages for v in entry["violations"] if v["impact"] in SERIOUS]

    def write_report(self):
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / f"axe-{self.role}.json").write_text(
            json.dumps({"role": self.role, "rules": RULES, "pages": self.pages}, ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
        (REPORTS / f"axe-{self.role}.md").write_text(markdown([self.role]), encoding="utf-8")
        roles = sorted(p.stem.removeprefix("axe-") for p in REPORTS.glob("axe-*.json"))
        (REPORTS / "summary.md").write_text(markdown(roles), encoding="utf-8")

    def message(self):
        lines = [f"{len(self.failures())} serious or critical accessibility violations for {self.role}:"]
        for entry, v in self.failures():
            targets = ", ".join(v["targets"][:5]) + (" …" if len(v["targets"]) > 5 else "")
            lines.append(
                f"  {entry['page']} @ {entry['width']} px: {v['id']} ({v['impact']}) ×{len(v['targets'])}: {targets}"
            )
        return "\n".join(lines)


def markdown(roles):
    """A short table of every role's serious and critical violations (from the JSON files)."""
    lines = [
        "# axe-core: serious and critical violations",
        "",
        f"Rules: {', '.join(RULES)}. Widths: {DESKTOP['width']} px and {PHONE['width']} px.",
        "",
        "| page | role | width | violation | impact | count | targets |",
        "|---|---|---|---|---|---|---|",
    ]
    checked = clean = 0
    for role in roles:
        path = REPORTS / f"axe-{role}.json"
        if not path.exists():
            continue
        for entry in json.loads(path.read_text(encoding="utf-8"))["pages"]:
            checked += 1
            serious = [v for v in entry["violations"] if v["impact"] in SERIOUS]
            clean += not serious
            for v in serious:
                targets = "<br>".join(f"`{t}`" for t in v["targets"][:8]) + (" …" if len(v["targets"]) > 8 else "")
                lines.append(
                    f"| {entry['page']} | {role} | {entry['width']} | {v['id']} | {v['impact']} "
                    f"| {len(v['targets'])} | {targets} |"
                )
    lines += ["", f"{checked} page checks, {clean} without a serious or critical violation."]
    lines += ["", "Moderate and minor findings (they do not fail the test) are in the JSON files."]
    return "\n".join(lines) + "\n"


def click_link(page, name, within="main", exact=False):
    page.locator(within).get_by_role("link", name=name, exact=exact).first.click()


def reports_tabs(page, axe):
    """The reports: the year overview with the group heat map, its tabs, a scorecard and a
    task's chart."""
    menu(page, "统计报表")
    expect(page.locator("#heatmap")).to_be_visible()
    axe.check("reports: year overview (heat map)")
    for tab in ("排名", "历年对比", "预警"):
        page.get_by_role("navigation", name="统计报表").get_by_role("link", name=tab).click()
        expect(page.get_by_role("navigation", name="统计报表").get_by_role("link", name=tab)).to_have_attribute(
            "aria-current", "page"
        )
        axe.check(f"reports: {tab}")
    page.get_by_role("navigation", name="统计报表").get_by_role("link", name="年度总览").click()
    page.locator("#heatmap").get_by_role("link", name="生产运营部").click()
    expect(page.locator("#scorecard")).to_be_visible()
    axe.check("reports: scorecard")
    page.locator("#scorecard").get_by_role("link", name="图表").first.click()
    expect(page.locator("main svg").first).to_be_visible()
    axe.check("reports: task chart")


def inbox_and_account(page, axe):
    menu(page, "消息")
    expect(page.get_by_role("heading", name="消息")).to_be_visible()
    axe.check("inbox")
    click_link(page, "消息设置")
    axe.check("inbox settings")
    page.locator("header").get_by_role("link", name="修改密码").click()
    expect(page.get_by_label("新密码", exact=True)).to_be_visible()
    axe.check("password change")


def task_lists(page, axe):
    menu(page, "任务清单")
    if page.locator("#lists").count():
        axe.check("task lists")
        page.locator("#lists").get_by_role("link").first.click()
    expect(page.locator("#task-list")).to_be_visible()
    axe.check("task list")


def staff(page, axe):
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
    axe.check("my tasks")
    row = page.locator("#my-tasks").get_by_role("row").filter(has_text="主要产品产量计划完成")
    row.get_by_role("link", name="主要产品产量计划完成").click()
    expect(page.locator("#stages")).to_be_visible()
    axe.check("task detail")
    menu(page, "我的任务")
    row = page.locator("#my-tasks").get_by_role("row").filter(has_text="主要产品产量计划完成")
    row.get_by_role("link", name="自评").click()
    scripts_ready(page)
    page.get_by_label("完成度（%）").fill("68")
    expect(page.locator("#light-preview").get_by_text("黄灯")).to_be_visible()
    axe.check("self-assessment (light preview shown)")
    menu(page, "我的任务")
    click_link(page, "亮表〔2026〕4号")
    axe.check("letter (commendation)")
    task_lists(page, axe)
    inbox_and_account(page, axe)


def leader(page, axe):
    expect(page.locator("#queue")).to_be_visible()
    axe.check("confirmations")
    page.locator("#queue").get_by_role("link", name="调整或退回").first.click()
    axe.check("confirmation")
    menu(page, "代理")
    axe.check("deputies")
    task_lists(page, axe)
    reports_tabs(page, axe)
    inbox_and_account(page, axe)


def leadership(page, axe):
    expect(page.locator("#meetings")).to_be_visible()
    axe.check("review meetings")
    page.locator("#meetings").get_by_role("button", name="开始例会").first.click()
    expect(page.get_by_role("link", name="会议模式").first).to_be_visible()
    axe.check("board (open meeting)")
    page.get_by_role("link", name="会议模式").first.click()
    expect(page.locator(".present")).to_be_visible()
    axe.check("meeting mode")
    page.get_by_role("link", name="评价看板").first.click()
    menu(page, "考核例会")
    page.locator("#meetings").get_by_role("link", name="会议纪要").first.click()
    expect(page.locator("#minutes-follow-up")).to_be_visible()
    axe.check("minutes")
    menu(page, "变更申请")
    axe.check("change requests")
    menu(page, "问责台账")
    expect(page.locator("#register")).to_be_visible()
    axe.check("accountability register")
    task_lists(page, axe)
    reports_tabs(page, axe)
    inbox_and_account(page, axe)


def inspector(page, axe):
    expect(page.locator("#cases")).to_be_visible()
    axe.check("follow-up queue")
    page.locator("#cases").get_by_role("link").first.click()
    axe.check("follow-up case")
    page.locator("main dl").get_by_role("link", name="通知").first.click()
    axe.check("letter (supervision or interview)")
    menu(page, "问责台账")
    axe.check("accountability register")
    menu(page, "代理")
    axe.check("deputies")
    task_lists(page, axe)
    reports_tabs(page, axe)
    inbox_and_account(page, axe)


def admin(page, axe):
    """The administrator lands on the administration (Django's own pages, with our widgets where
    Django's fail axe: lightboard/admin.py WIDGETS) and opens, from its index, the list of every
    model it links to; then the forms: a user's (roles, departments and permissions as check
    boxes, labelled date and time), a new user's, a key task's, a department's, a review
    meeting's (its attendees), an integration account's, a directory group mapping's, a group's
    (its permissions) and an assessment year's (its stages' dates in a table)."""
    administrator = User.objects.get(username="admin")
    unit = Department.objects.get(name="生产运营部")
    account = IntegrationAccount(name="数据中台", access=IntegrationAccount.Access.READ)
    services.create_integration(integration=account, units=[unit], by=administrator)
    DirectoryGroupMapping.objects.create(
        group_dn="cn=lb-staff,ou=groups,dc=example,dc=com", role="department_staff", department=unit
    )
    axe.check("administration")
    models = page.locator("#content-main th[scope=row]").get_by_role("link")
    names = models.all_text_contents()
    assert {"用户", "所属部门", "重点工作任务", "考核评价例会", "接口集成账号", "目录组映射", "通知"} <= set(names)
    for name in names:
        admin_index(page)
        models.get_by_text(name, exact=True).click()
        expect(page.locator("#changelist")).to_be_visible()
        axe.check(f"administration: {name}")

    def open_first(model, row=None):
        admin_index(page)
        models.get_by_text(model, exact=True).click()
        rows = page.locator("#result_list tbody th")
        (rows.get_by_role("link", name=row, exact=True) if row else rows.get_by_role("link").first).click()
        expect(page.locator(".object-tools").get_by_role("link", name="历史")).to_be_visible()

    open_first("用户", "admin")
    expect(page.get_by_label("administrator")).to_be_checked()
    expect(page.get_by_label("日期").first).to_be_visible()
    axe.check("administration: user")
    page.locator(".breadcrumbs").get_by_role("link", name="用户").click()
    page.locator(".object-tools").get_by_role("link", name="增加").click()
    expect(page.get_by_label("密码确认")).to_be_visible()
    axe.check("administration: new user")
    open_first("重点工作任务")
    axe.check("administration: key task")
    open_first("所属部门")
    expect(page.get_by_label("上级单位")).to_be_visible()
    axe.check("administration: department")
    open_first("考核评价例会")
    expect(page.locator("#id_attendees").get_by_role("checkbox").first).to_be_visible()
    axe.check("administration: review meeting")
    open_first("接口集成账号", "数据中台")
    expect(page.get_by_label("生产运营部")).to_be_checked()
    axe.check("administration: integration account")
    open_first("目录组映射")
    axe.check("administration: directory group mapping")
    open_first("组", "administrator")
    axe.check("administration: group (its permissions)")
    open_first("考核年度")
    expect(page.get_by_label("开始日期").first).to_be_visible()
    axe.check("administration: assessment year (its stages)")


def admin_index(page):
    """Back to the administration's index by its breadcrumb (or the header on the index)."""
    page.locator("#site-name").get_by_role("link").click()
    expect(page.locator("#content-main th[scope=row]").first).to_be_visible()


JOURNEYS = {"staff": staff, "leader": leader, "leadership": leadership, "inspector": inspector, "admin": admin}


@pytest.mark.parametrize("role", list(JOURNEYS))
def test_every_page_a_role_reaches_has_no_serious_accessibility_violation(role, open_page, demo, axe_source):
    page = open_page()
    if role == "admin":  # lands on Django's administration, which has no 退出 button of ours
        page.goto("/accounts/login/")
        page.get_by_label("用户名").fill(role)
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("link", name="查看站点")).to_be_visible()
    else:
        sign_in(page, role, PASSWORD)
    axe = Axe(page, role, axe_source)
    try:
        JOURNEYS[role](page, axe)
    finally:
        axe.write_report()
    assert not axe.failures(), axe.message()


def overflow(page):
    """How far the page is wider than the window (CSS pixels), and which parts of the header
    lie over one another."""
    return page.evaluate(
        """() => {
      const wide = document.documentElement.scrollWidth - window.innerWidth;
      const parts = [...document.querySelectorAll(
        ".site-header .brand, .site-header .site-nav li, .site-header .site-tools > *")]
        .filter((e) => e.offsetParent !== null).map((e) => [e, e.getBoundingClientRect()]);
      const overlaps = [];
      parts.forEach(([a, ra], i) => parts.slice(i + 1).forEach(([b, rb]) => {
        if (a.contains(b) || b.contains(a)) return;
        const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (x > 1 && y > 1) overlaps.push(`${a.textContent.trim()} / ${b.textContent.trim()}`);
      }));
      const header = document.querySelector(".site-header");
      const main = document.querySelector("main");
      if (header && main && header.offsetParent !== null
          && main.getBoundingClientRect().top < header.getBoundingClientRect().bottom - 1)
        overlaps.push("header / main");
      return {wide, overlaps};
    }"""
    )


def test_pages_stay_usable_at_200_percent_zoom(browser, live_server, demo):
    problems = []

    def check(page, name):
        page.wait_for_load_state("load")
        found = overflow(page)
        if found["wide"] > 1 or found["overlaps"]:
            problems.append(f"{name}: {found['wide']} px wider than the window; overlapping: {found['overlaps']}")

    def new_page():
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", **ZOOM_200)
        return context, context.new_page()

    context, page = new_page()
    sign_in(page, "leadership", PASSWORD)
    page.locator("#meetings").get_by_role("button", name="开始例会").first.click()
    expect(page.get_by_role("link", name="会议模式").first).to_be_visible()
    check(page, "board")
    page.get_by_role("link", name="会议模式").first.click()
    expect(page.locator(".present")).to_be_visible()
    check(page, "meeting mode")
    page.get_by_role("link", name="评价看板").first.click()
    menu(page, "统计报表")
    expect(page.locator("#heatmap")).to_be_visible()
    check(page, "heat map")
    context.close()

    context, page = new_page()
    sign_in(page, "staff", PASSWORD)
    expect(page.locator("#my-tasks")).to_be_visible()
    check(page, "my tasks")
    context.close()

    context, page = new_page()
    sign_in(page, "inspector", PASSWORD)
    page.locator("#cases").get_by_role("link").first.click()
    check(page, "follow-up case")
    context.close()

    assert not problems, "\n".join(problems)
