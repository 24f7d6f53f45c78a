"""The Excel round trip in the browser: download the template, upload, see every problem."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tasks.models import AuditEntry, KeyTask
from tests.factories import KeyTaskFactory, make_list

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


# --- a large file: imported by a worker, with a progress bar ----------------------------


@pytest.fixture
def in_background(settings, tmp_path, monkeypatch):
    """Files of more than 3 rows go to the worker (eager here: it runs at the commit, in-process),
    the upload stored under a temporary media root."""
    from lightboard.celery import app as celery_app
    from tasks import imports

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(imports, "IMPORT_IN_BACKGROUND_ABOVE", 3)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    return tmp_path


def test_a_large_file_is_imported_by_a_job_whose_page_shows_it_done(
    client, year, department_a, staff_a, in_background, django_capture_on_commit_callbacks
):
    from tasks.models import ImportJob

    client.force_login(staff_a)
    upload = filled_template(client, [good_row(f"任务{n}") for n in range(5)])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("import/"), {"file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == url(f"import/{job.pk}/")
    assert (job.state, job.rows, job.processed, job.created) == ("done", 5, 5, 5)
    assert KeyTask.objects.count() == 5 and AuditEntry.objects.count() == 5
    assert not job.file and not any(in_background.rglob("*.xlsx"))  # the upload is not kept

    html = client.get(url(f"import/{job.pk}/")).content.decode()
    assert '<progress id="import-progress" max="5" value="5">' in html
    assert "新建 5 项任务" in html
    assert "已处理 5 / 5 行" in html
    assert "hx-trigger" not in html.split('id="import-job"')[1].split(">")[0]  # finished: no more polling


def test_a_bad_large_file_fails_its_job_with_every_row_error_and_saves_nothing(
    client, year, department_a, staff_a, in_background, django_capture_on_commit_callbacks
):
    from tasks.models import ImportJob

    client.force_login(staff_a)
    rows = [good_row(f"任务{n}") for n in range(4)] + [good_row("无主任务", owner="nobody")]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("import/"), {"file": filled_template(client, rows)})
    job = ImportJob.objects.get()
    assert job.state == "failed" and not KeyTask.objects.exists() and not AuditEntry.objects.exists()
    html = client.get(response["Location"]).content.decode()
    errors = html.split('id="import-errors"')[1].split("</div>")[0]
    assert "第 6 行" in errors and "责任人" in errors and "nobody" in errors


def test_a_running_job_is_polled_through_its_fragment(client, year, department_a, staff_a, staff_b):
    from tasks.models import ImportJob

    job = ImportJob.objects.create(
        task_list=make_list(year, department_a), by=staff_a, rows=2000, processed=1200, state="running"
    )
    client.force_login(staff_a)
    fragment = client.get(url(f"import/{job.pk}/"), headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="import-job"')  # the fragment alone
    assert f'hx-get="{url(f"import/{job.pk}/")}" hx-trigger="every 1s"' in fragment
    assert '<progress id="import-progress" max="2000" value="1200">60 %</progress>' in fragment
    assert "已处理 1,200 / 2,000 行" in fragment
    assert '<label for="import-progress">' in fragment
    client.force_login(staff_b)  # another department's staff: not even its existence
    assert client.get(url(f"import/{job.pk}/")).status_code == 404
