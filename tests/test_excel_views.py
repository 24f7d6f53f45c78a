"""The Excel round trip in the browser: download the template, upload, see every problem."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tasks.models import AuditEntry, KeyTask
from tests.factories import KeyTaskFactory

pytestmark = pytest.mark.django_db


def url(suffix=""):
    return f"/tasks/lists/2026/A/{suffix}"


def workbook_bytes(response):
    return b"".join(response.streaming_content)


def filled_template(client, rows):
    workbook = openpyxl.load_workbook(io.BytesIO(workbook_bytes(client.get(url("template.xlsx")))))
    for values in rows:
        workbook["重点任务"].append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("清单.xlsx", buffer.getvalue())


def good_row(title, owner="staff_a", deadline="2026-06-30"):
    return [title, f"{title}通过验收", owner, deadline, 1, None, *[f"{title}阶段{n}" for n in range(1, 7)]]


def test_staff_download_the_template_fill_it_in_and_upload_it(client, year, department_a, staff_a):
    client.force_login(staff_a)
    template = client.get(url("template.xlsx"))
    assert template.status_code == 200
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in template["Content-Disposition"]
    upload = filled_template(client, [good_row("精益生产试点"), good_row("设备完好率提升")])
    response = client.post(url("import/"), {"file": upload}, follow=True)
    assert response.redirect_chain[-1][0] == url()
    assert "新建 2 项任务" in response.content.decode()
    assert KeyTask.objects.count() == 2


def test_a_bad_upload_lists_every_problem_with_its_row_and_saves_nothing(client, year, department_a, staff_a):
    client.force_login(staff_a)
    upload = filled_template(
        client,
        [good_row("精益生产试点"), good_row("无主任务", owner="nobody"), good_row("超期任务", deadline="2027-03-01")],
    )
    response = client.post(url("import/"), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 400
    errors = html.split('id="import-errors"')[1].split("</div>")[0]
    assert "第 3 行" in errors and "责任人" in errors and "nobody" in errors
    assert "第 4 行" in errors and "完成时限" in errors and "2026 年内" in errors
    assert not KeyTask.objects.exists() and not AuditEntry.objects.exists()


def test_a_file_that_is_not_a_workbook_gets_a_clear_message(client, year, department_a, staff_a):
    client.force_login(staff_a)
    response = client.post(url("import/"), {"file": SimpleUploadedFile("清单.xlsx", b"not a zip at all")})
    assert response.status_code == 400
    assert "不是有效的 .xlsx 工作簿" in response.content.decode()


def test_a_file_over_5_mb_is_refused(client, year, department_a, staff_a):
    client.force_login(staff_a)
    response = client.post(url("import/"), {"file": SimpleUploadedFile("big.xlsx", b"0" * (5 * 1024 * 1024 + 1))})
    assert response.status_code == 400
    assert "文件超过 5 MB" in response.content.decode()


def test_uploading_without_a_file_says_so(client, year, department_a, staff_a):
    client.force_login(staff_a)
    response = client.post(url("import/"), {})
    assert response.status_code == 400
    assert "请选择要上传的 .xlsx 文件。" in response.content.decode()


def test_export_opens_in_excel_with_the_lists_tasks(client, year, department_a, staff_a, leadership):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化")
    client.force_login(leadership)
    response = client.get(url("export.xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(workbook_bytes(response)))["重点任务"]
    assert sheet["A2"].value == "安全生产标准化" and sheet["C2"].value == "staff_a"


def test_only_the_departments_staff_may_import(client, year, department_a, staff_b, leadership):
    for user, status in ((leadership, 403), (staff_b, 404)):
        client.force_login(user)
        response = client.post(url("import/"), {"file": SimpleUploadedFile("x.xlsx", b"x")})
        assert response.status_code == status
