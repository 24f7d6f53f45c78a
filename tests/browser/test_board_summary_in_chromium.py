"""A large review board in a real browser: it opens on its departments and their counts; a
click loads one department's rows in place (htmx), and 显示全部任务 shows every row."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lightboard.roles import Role
from reviews import queries
from tasks import services
from tests.browser.conftest import scripts_ready, sign_in
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import open_meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The English msgids until the translations of this change are merged into locale/.
SHOW_DEPARTMENT = "显示本部门任务"
SHOW_ALL = "显示全部任务"


def test_a_large_board_opens_on_departments_and_loads_rows_on_demand(page, department_a, department_b, monkeypatch):
    monkeypatch.setattr(queries, "BOARD_SUMMARY_ABOVE", 5)  # "large" is 300 tasks in production
    year = services.create_assessment_year(year=timezone.localdate().year)
    stage = year.stages.get(number=2)
    chair = make_user("chen", Role.LEADERSHIP, name="陈志远")
    owner = make_user("wang", Role.STAFF, name="王工", departments=[department_a, department_b])
    for department in (department_a, department_b):
        for n in range(3):
            KeyTaskFactory(year=year, department=department, owner=owner, title=f"{department.name}任务{n}")
    meeting = open_meeting(stage, chair, attendees=[chair])

    sign_in(page, "chen")
    row = page.locator("#meetings").get_by_role("row").filter(has_text=f"第 {stage.number} 阶段")
    row.get_by_role("link", name="评价看板").click()
    expect(page.get_by_role("heading", name=re.compile("评价看板"))).to_be_visible()
    scripts_ready(page)

    board = page.locator("#board-body")
    expect(board.locator("tr.rating")).to_have_count(0)  # departments first
    expect(board.locator("tbody.department")).to_have_count(2)
    finance = page.locator(f"#department-{department_b.pk}")
    expect(finance).to_contain_text("财务部")

    finance.get_by_role("link", name=SHOW_DEPARTMENT).click()

    expect(
        page.locator(f"#department-{department_b.pk}").get_by_role("link", name=re.compile("财务部任务"))
    ).to_have_count(3)
    expect(board.locator("tr.rating")).to_have_count(3)  # only that department's rows came
    expect(page.locator(f"#department-{department_a.pk}").get_by_role("link", name=SHOW_DEPARTMENT)).to_be_visible()
    assert page.url.endswith(f"/reviews/meetings/{meeting.pk}/")  # loaded in place

    page.get_by_role("link", name=SHOW_ALL).click()

    expect(page.locator("#board-body tr.rating")).to_have_count(6)
    expect(page.get_by_role("link", name=SHOW_DEPARTMENT)).to_have_count(0)
