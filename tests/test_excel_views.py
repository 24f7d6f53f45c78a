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


# --- a job that cannot end: interrupted, never queued, claimed twice, rolled back --------


def _zh(message):
    from django.utils import translation
    from django.utils.html import escape

    with translation.override("zh-hans"):
        return escape(translation.gettext(message))


INTERRUPTED = "The import was interrupted; nothing was saved. Upload the file again."
NOT_STARTED = "The import could not be started right now. Try again later."


def _stored_job(year, department, by, media, state, age_seconds):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from tasks.models import ImportJob

    job = ImportJob(task_list=make_list(year, department), by=by, rows=2000, processed=10, state=state)
    job.file.save("upload.xlsx", ContentFile(b"xlsx"), save=False)
    job.save()
    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(seconds=age_seconds))
    assert (media / job.file.name).exists()
    return job


def test_a_job_a_killed_worker_left_shows_failed_and_the_beat_sweep_fails_it(
    client, year, department_a, staff_a, in_background, settings
):
    from tasks import imports
    from tasks.models import ImportJob

    limit = settings.CELERY_TASK_TIME_LIMIT + imports.RUNNING_MARGIN.total_seconds()
    queued_limit = limit + imports.QUEUED_MARGIN.total_seconds()
    killed = _stored_job(year, department_a, staff_a, in_background, "running", limit + 5)
    running = _stored_job(year, department_a, staff_a, in_background, "running", limit - 30)
    never_run = _stored_job(year, department_a, staff_a, in_background, "queued", queued_limit + 5)
    waiting = _stored_job(year, department_a, staff_a, in_background, "queued", limit + 5)  # not yet
    client.force_login(staff_a)
    for job in (killed, never_run):
        html = client.get(url(f"import/{job.pk}/"), headers={"HX-Request": "true"}).content.decode()
        assert "hx-trigger" not in html.split(">")[0] and _zh(INTERRUPTED) in html  # polling stops
    for job in (running, waiting):
        assert "hx-trigger" in client.get(url(f"import/{job.pk}/")).content.decode()

    imports.fail_interrupted_import_jobs()
    imports.fail_interrupted_import_jobs()  # idempotent
    states = dict(ImportJob.objects.values_list("pk", "state"))
    assert [states[job.pk] for job in (killed, never_run, running, waiting)] == [
        "failed", "failed", "running", "queued",
    ]  # fmt: skip
    killed.refresh_from_db()
    assert killed.file.name == "" and killed.finished_at and killed.errors[0][2] == _zh(INTERRUPTED)
    assert sorted(path.name for path in in_background.rglob("*.xlsx")) == sorted(
        (in_background / job.file.name).name for job in (running, waiting)
    )
    assert "fail-interrupted-imports" in settings.CELERY_BEAT_SCHEDULE
    from lightboard.celery import app as celery_app

    assert settings.CELERY_BEAT_SCHEDULE["fail-interrupted-imports"]["task"] in celery_app.tasks


def test_a_job_the_broker_cannot_take_fails_at_once_with_a_message(
    client, year, department_a, staff_a, in_background, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from tasks import imports
    from tasks.models import ImportJob

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(imports.run_import_job, "delay", broker_down)
    client.force_login(staff_a)
    upload = filled_template(client, [good_row(f"任务{n}") for n in range(5)])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("import/"), {"file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == url(f"import/{job.pk}/")
    assert job.state == "failed" and not job.file and not any(in_background.rglob("*.xlsx"))
    html = client.get(response["Location"]).content.decode()
    assert _zh(NOT_STARTED) in html and "hx-trigger" not in html.split('id="import-job"')[1].split(">")[0]
    assert not KeyTask.objects.exists()


def test_a_job_delivered_twice_at_once_is_imported_by_one_worker_only(
    client, year, department_a, staff_a, in_background, monkeypatch, django_capture_on_commit_callbacks
):
    from tasks import imports
    from tasks.models import ImportJob

    client.force_login(staff_a)
    upload = filled_template(client, [good_row(f"任务{n}") for n in range(5)])
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url("import/"), {"file": upload})
    job = ImportJob.objects.get()
    select_related = ImportJob.objects.select_related
    second_delivery = []

    class WhileTheFirstReads:
        # The second delivery runs just after the first worker has read the job.
        def __init__(self, *args):
            self.queryset = select_related(*args)

        def get(self, **kwargs):
            read = self.queryset.get(**kwargs)
            if not second_delivery:
                second_delivery.append(True)
                imports.run_import(job.pk)
            return read

    monkeypatch.setattr(ImportJob.objects, "select_related", WhileTheFirstReads)
    imports.run_import(job.pk)
    job.refresh_from_db()
    assert (job.state, job.created) == ("done", 5) and KeyTask.objects.count() == 5


def test_an_import_rolled_back_after_storing_the_upload_leaves_no_file(
    client, year, department_a, staff_a, in_background, monkeypatch
):
    from tasks.models import ImportJob

    def refuse(self, *args, **kwargs):
        raise RuntimeError("the database refused the row")

    monkeypatch.setattr(ImportJob, "save", refuse)
    client.force_login(staff_a)
    upload = filled_template(client, [good_row(f"任务{n}") for n in range(5)])
    client.raise_request_exception = True
    with pytest.raises(RuntimeError):
        client.post(url("import/"), {"file": upload})
    assert not ImportJob.objects.exists() and not any(in_background.rglob("*.xlsx"))


def test_the_job_page_of_a_department_without_a_list_is_not_found(client, year, department_a, staff_a, staff_b):
    from tasks.models import ImportJob

    job = ImportJob.objects.create(task_list=make_list(year, department_a), by=staff_a, rows=2000)
    client.force_login(staff_b)  # department B has no list for 2026
    assert client.get(f"/tasks/lists/2026/B/import/{job.pk}/").status_code == 404
