import logging

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task
def sync_directory():
    """The directory sync, applied (Celery beat runs it every DIRECTORY_SYNC_MINUTES)."""
    if not settings.LDAP_SERVER_URI:
        return 0
    from . import reader, services

    people, units = reader.read_directory()
    lines = services.sync_directory(people=people, units=units, apply=True)
    for line in lines:
        logger.info("directory sync: %s", line)
    return sum(1 for line in lines if line.sign != "!")
