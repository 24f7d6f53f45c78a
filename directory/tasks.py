import contextlib
import logging
import uuid

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

LOCK = "directory:sync:running"


@contextlib.contextmanager
def one_sync_at_a_time():
    """True inside when this is the only applying sync; False when another is still going. The
    lock outlives the longest Celery run (the worker kills a task at CELERY_TASK_TIME_LIMIT), so
    a killed run's lock expires by itself. A run by hand has no such limit and may outlast its
    lock, and another run may take the lock meanwhile: each run's lock holds a token of its own,
    and a run lets go of the lock only while it still holds its token, never of another's."""
    token = uuid.uuid4().hex
    held = cache.add(LOCK, token, timeout=settings.CELERY_TASK_TIME_LIMIT + 30)
    try:
        yield held
    finally:
        # Not atomic, but the lock would have to expire between these two calls.
        if held and cache.get(LOCK) == token:
            cache.delete(LOCK)


@shared_task
def sync_directory():
    """The directory sync, applied (Celery beat runs it every DIRECTORY_SYNC_MINUTES). One at a
    time: two runs creating the same new people would collide on the unique usernames and ids,
    so a run that finds another still going (beat firing during a long one) skips."""
    if not settings.LDAP_SERVER_URI:
        return 0
    with one_sync_at_a_time() as alone:
        if not alone:
            logger.info("directory sync: another run is still going; skipped")
            return 0
        from . import reader, services

        people, units = reader.read_directory()
        lines = services.sync_directory(people=people, units=units, apply=True)
    for line in lines:
        logger.info("directory sync: %s", line)
    return sum(1 for line in lines if line.sign != "!")
