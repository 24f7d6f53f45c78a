"""Excel imports too large for one request: the upload is stored, an ImportJob records how far
the import got, and a Celery worker runs the same all-or-nothing import (tasks.excel). The
page polls the job until it has finished."""

import logging
import uuid

from celery import shared_task
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import excel, services
from .models import ImportJob

logger = logging.getLogger(__name__)

# A file of more task rows than this is imported by a worker, with a progress bar; a smaller
# one at once, in the request.
IMPORT_IN_BACKGROUND_ABOVE = 300


def start_import(*, task_list, file, by):
    """Import `file` into `task_list` as `by`: at once when it is small, returning
    (ImportResult, None); otherwise queued for a worker, returning (None, the ImportJob).
    PermissionDenied or ImportRejected as tasks.excel.import_task_list, for a small file or
    for a problem of the whole file (which is found before anything is queued)."""
    rows = excel.read_rows(file, task_list=task_list, by=by)
    if len(rows) <= IMPORT_IN_BACKGROUND_ABOVE:
        return excel.import_rows(task_list=task_list, rows=rows, by=by), None
    file.seek(0)
    with transaction.atomic():
        job = ImportJob(task_list=services.lock_task_list(task_list), by=by, rows=len(rows))
        job.file.save(f"{uuid.uuid4().hex}.xlsx", file, save=False)
        job.save()
        transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return None, job


@shared_task(ignore_result=True, acks_late=False)
def run_import_job(job_id):
    run_import(job_id)


def run_import(job_id):
    """Run a queued import job to its end: done with its counts, or failed with every row
    error. The tasks and the job's "done" are written in one transaction."""
    job = ImportJob.objects.select_related("task_list__year", "task_list__department", "by").get(pk=job_id)
    if job.state != ImportJob.State.QUEUED:
        return  # delivered twice: the first run has it
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING)

    def progress(processed):
        ImportJob.objects.filter(pk=job.pk).update(processed=processed)

    def finish(result):
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportJob.State.DONE, processed=job.rows, created=result.created, updated=result.updated,
            unchanged=result.unchanged, finished_at=timezone.now(),
        )  # fmt: skip

    try:
        with job.file.open("rb") as handle:
            rows = excel.read_rows(handle, task_list=job.task_list, by=job.by, progress=progress)
        excel.import_rows(task_list=job.task_list, rows=rows, by=job.by, finish=finish)
    except excel.ImportRejected as rejected:
        _failed(job, [[error.row, error.column, str(error.message)] for error in rejected.errors])
    except Exception:
        logger.exception("Import job %s failed", job.pk)
        _failed(job, [[None, None, _("The import failed unexpectedly; nothing was saved. Try again.")]])
    finally:
        # The upload is kept only while it is being imported.
        name = job.file.name
        if name:
            default_storage.delete(name)
            ImportJob.objects.filter(pk=job.pk).update(file="")


def _failed(job, errors):
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.FAILED, errors=errors, finished_at=timezone.now())


def job_errors(job):
    """The job's problems as RowErrors, as the import page lists them."""
    return [excel.RowError(row, column, message) for row, column, message in job.errors]
