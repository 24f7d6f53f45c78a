"""Celery tasks of the tasks app (found by the Celery app's autodiscovery of <app>.tasks)."""

from .imports import run_import_job

__all__ = ["run_import_job"]
