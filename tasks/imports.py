"""Excel imports too large for one request: the upload is stored, an ImportJob records how far
the import got, and a Celery worker runs the same all-or-nothing import (tasks.excel). The
page polls the job until it has finished."""

import logging
import uuid
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import excel, services
from .models import ImportJob

logger = logging.getLogger(__name__)

# A file of more task rows than this is imported by a worker, with a progress bar; a smaller
# one at once, in the request.
IMPORT_IN_BACKGROUND_ABOVE = 300

# A worker is killed at CELERY_TASK_TIME_LIMIT, and this task is not redelivered (acks_late=False):
# a job running longer than that and this margin was interrupted (killed, out of memory, a
# redeploy). A queued one may first wait behind other tasks, so it is given longer still.
RUNNING_MARGIN = timedelta(minutes=2)
QUEUED_MARGIN = timedelta(minutes=10)


def _interrupted_message():
    return _("The import was interrupted; nothing was saved. Upload the file again.")


def start_import(*, task_list, file, by):
    """Import `file` into `task_list` as `by`: at once when it is small, returning
    (ImportResult, None); otherwise queued for a worker, returning (None, the ImportJob).
    PermissionDenied or ImportRejected as tasks.excel.import_task_list, for a small file or
    for a problem of the whole file (which is found before anything is queued)."""
    rows = excel.read_rows(file, task_list=task_list, by=by)
    if len(rows) <= IMPORT_IN_BACKGROUND_ABOVE:
        return excel.import_rows(task_list=task_list, rows=rows, by=by), None
    file.seek(0)
    job = ImportJob(by=by, rows=len(rows))
    try:
        with transaction.atomic():
            job.task_list = services.lock_task_list(task_list)
            job.file.save(f"{uuid.uuid4().hex}.xlsx", file, save=False)
            job.save()
            transaction.on_commit(lambda: _publish(job.pk))
    except BaseException:
        _delete_file(job.file.name)  # rolled back: the stored upload belongs to no job
        raise
    return None, job


def _publish(job_id):
    """Hand the job to a worker. When the broker cannot take it, the job fails at once with a
    message to try later (its upload deleted) rather than waiting forever as queued."""
    try:
        run_import_job.delay(job_id)
    except Exception:
        logger.exception("Import job %s could not be queued", job_id)
        _fail_unfinished(
            ImportJob.objects.filter(pk=job_id, state=ImportJob.State.QUEUED),
            _("The import could not be started right now. Try again later."),
        )


@shared_task(ignore_result=True, acks_late=False)
def run_import_job(job_id):
    run_import(job_id)


def run_import(job_id):
    """Run a queued import job to its end: done with its counts, or failed with every row
    error. The tasks and the job's "done" are written in one transaction."""
    claimed = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.QUEUED).update(
        state=ImportJob.State.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return  # delivered twice (the first run has it), or already failed as interrupted
    job = ImportJob.objects.select_related("task_list__year", "task_list__department", "by").get(pk=job_id)

    def progress(processed):
        ImportJob.objects.filter(pk=job.pk).update(processed=processed)

    def finish(result):
        # Only while still running: a job the sweep has failed as interrupted is not then
        # reported done; raising rolls the import back with it.
        if not ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.RUNNING).update(
            state=ImportJob.State.DONE, processed=job.rows, created=result.created, updated=result.updated,
            unchanged=result.unchanged, finished_at=timezone.now(),
        ):  # fmt: skip
            raise _NoLongerRunning

    try:
        with job.file.open("rb") as handle:
            rows = excel.read_rows(handle, task_list=job.task_list, by=job.by, progress=progress)
        excel.import_rows(task_list=job.task_list, rows=rows, by=job.by, finish=finish)
    except _NoLongerRunning:
        pass
    except excel.ImportRejected as rejected:
        _failed(job, [[error.row, error.column, str(error.message)] for error in rejected.errors])
    except Exception:
        logger.exception("Import job %s failed", job.pk)
        _failed(job, [[None, None, _("The import failed unexpectedly; nothing was saved. Try again.")]])
    finally:
        # The upload is kept only while it is being imported.
        name = job.file.name
        if name:
            _delete_file(name)
            ImportJob.objects.filter(pk=job.pk).update(file="")


class _NoLongerRunning(Exception):
    pass


def _failed(job, errors):
    ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.RUNNING).update(
        state=ImportJob.State.FAILED, errors=errors, finished_at=timezone.now()
    )


def _delete_file(name):
    if name:
        try:
            default_storage.delete(name)
        except Exception:
            logger.exception("Could not delete the import upload %s", name)


def _fail_unfinished(jobs, message):
    """Fail those of `jobs` still queued or running with `message` and delete their uploads.
    Each row changes only if it has not moved on since it was read, so this is idempotent and
    leaves alone a job a worker has just claimed."""
    unfinished = jobs.filter(state__in=[ImportJob.State.QUEUED, ImportJob.State.RUNNING])
    for job in unfinished.only("pk", "state", "started_at", "file"):
        failed = ImportJob.objects.filter(pk=job.pk, state=job.state, started_at=job.started_at).update(
            state=ImportJob.State.FAILED, errors=[[None, None, str(message)]], finished_at=timezone.now(), file=""
        )
        if failed:
            _delete_file(job.file.name)


def _interrupted_filter(now=None):
    """The jobs that count as interrupted: running, or queued, for longer than a worker may."""
    now = now or timezone.now()
    limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + RUNNING_MARGIN
    return Q(state=ImportJob.State.RUNNING, started_at__lt=now - limit) | Q(
        state=ImportJob.State.QUEUED, started_at__lt=now - limit - QUEUED_MARGIN
    )


def is_interrupted(job, now=None):
    now = now or timezone.now()
    limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + RUNNING_MARGIN
    if job.state == ImportJob.State.RUNNING:
        return job.started_at < now - limit
    if job.state == ImportJob.State.QUEUED:
        return job.started_at < now - limit - QUEUED_MARGIN
    return False


def as_seen(job):
    """The job as its page shows it: one interrupted (which the beat sweep will fail) already
    failed, with the message to upload again."""
    if is_interrupted(job):
        job.state = ImportJob.State.FAILED
        job.errors = [[None, None, str(_interrupted_message())]]
    return job


@shared_task(ignore_result=True)
def fail_interrupted_import_jobs():
    """Beat: fail the jobs a killed worker left queued or running, and delete their uploads.
    Jobs that ended but whose upload was left behind lose it too."""
    _fail_unfinished(ImportJob.objects.filter(_interrupted_filter()), _interrupted_message())
    # A run that ended but could not delete its upload (the worker killed in between).
    leftover = ImportJob.objects.filter(state__in=[ImportJob.State.DONE, ImportJob.State.FAILED]).exclude(file="")
    for job in leftover.only("pk", "file"):
        _delete_file(job.file.name)
        ImportJob.objects.filter(pk=job.pk).update(file="")


def job_errors(job):
    """The job's problems as RowErrors, as the import page lists them."""
    return [excel.RowError(row, column, message) for row, column, message in job.errors]
