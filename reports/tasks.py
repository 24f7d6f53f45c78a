"""Celery tasks of the reports app. They only call services."""

from celery import shared_task
from django.utils import timezone

from . import briefing


@shared_task(ignore_result=True)
def send_weekly_briefing():
    """Beat, hourly: from BRIEFING_WEEKDAY at DIGEST_HOUR on, each member of the leadership group
    gets the week's briefing once."""
    return briefing.send_weekly_briefings(timezone.now())
