"""A large Excel import in the browser: staff upload 2,000 rows, a worker imports them (eagerly
in-process without Redis, a real Celery worker with it) while the page's progress bar, polled
with htmx, reaches 100 %; a bad file ends with every row error listed and nothing saved."""

import datetime

import openpyxl
import pytest
from playwright.sync_api import expect

from lightboard.roles import Role
from tasks import excel
from tasks.models import ImportJob, KeyTask
from tests.browser.conftest import PHONE, menu, screenshot, sign_in
from tests.conftest import make_user
from tests.factories import make_list

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 2000


def workbook(path, rows, bad_rows=()):
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(excel.TASK_SHEET)
    sheet.append(excel.COLUMNS)
    for n in range(rows):
        owner = "nobody" if n in bad_rows else "wang.fang"
        sheet.append(
            [f"批量任务{n:04d}", f"第{n}项完成并验收", owner, datetime.date(2026, 1 + n % 12, 1 + n % 28), 1, None]
            + [f"第{s}阶段目标" for s in range(1, 7)]
        )
    book.save(path)
    return path


@pytest.fixture
def staff(year, department_a, celery_worker_process):
    make_list(year, department_a)
    return make_user("wang.fang", Role.STAFF, departments=[department_a], name="王芳")


def open_import(page):
    menu(page, "任务清单")
    page.get_by_role("link", name="从 Excel 导入").click()
    expect(page.get_by_role("heading", name="从 Excel 导入")).to_be_visible()


def upload(page, path):
    page.get_by_label("Excel 文件（.xlsx，不超过 5 MB）").set_input_files(str(path))
    page.get_by_role("button", name="导入", exact=True).click()


def test_staff_import_2000_rows_with_a_progress_bar_then_see_the_row_errors_of_a_bad_file(
    page, staff, department_a, tmp_path
):
    sign_in(page, "wang.fang")
    open_import(page)
    upload(page, workbook(tmp_path / "清单.xlsx", ROWS))
    # Eagerly (no Redis) the upload's request runs the import; with Redis a worker does, polled.
    progress = page.get_by_label("导入进度")
    expect(progress).to_have_attribute("max", str(ROWS), timeout=60_000)
    expect(progress).to_have_attribute("value", str(ROWS), timeout=60_000)
    expect(page.get_by_text("已处理 2,000 / 2,000 行")).to_be_visible()
    expect(page.get_by_text("新建 2000 项任务")).to_be_visible()
    screenshot(page, "import-2000-rows-done")
    page.get_by_role("link", name="打开任务清单").click()
    expect(page.get_by_role("link", name="批量任务1999")).to_be_visible()
    assert KeyTask.objects.filter(department=department_a).count() == ROWS

    # A bad file: every problem with its row, and nothing of it saved.
    open_import(page)
    upload(page, workbook(tmp_path / "有错.xlsx", ROWS, bad_rows={17, 1500}))
    errors = page.get_by_role("alert")
    expect(errors).to_contain_text("第 19 行", timeout=60_000)
    expect(errors).to_contain_text("第 1502 行")
    expect(errors).to_contain_text("nobody")
    assert ImportJob.objects.filter(state="failed").count() == 1
    assert KeyTask.objects.filter(department=department_a).count() == ROWS
    page.get_by_role("link", name="上传修改后的文件").click()
    expect(page.get_by_label("Excel 文件（.xlsx，不超过 5 MB）")).to_be_visible()


def test_the_import_and_its_progress_fit_a_phone(open_page, staff, tmp_path):
    phone = open_page(PHONE)
    sign_in(phone, "wang.fang")
    open_import(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    upload(phone, workbook(tmp_path / "清单.xlsx", 400))
    expect(phone.get_by_label("导入进度")).to_have_attribute("value", "400", timeout=60_000)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "import-progress-on-a-phone")
