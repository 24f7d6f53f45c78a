"""Celery tasks of the tasks app (found by the Celery app's autodiscovery of <app>.tasks)."""

from .imports import fail_interrupted_import_jobs, run_import_job

__all__ = ["fail_interrupted_import_jobs", "run_import_job"]
