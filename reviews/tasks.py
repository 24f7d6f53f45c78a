"""Celery tasks of the reviews app. They only call services."""

import datetime

from celery import shared_task

from lightboard import clock

from . import reminders


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_due_reminders(day=None):
    """Beat: today's reminders (or those of `day`, an ISO date), each once per person, item and day."""
    today = datetime.date.fromisoformat(day) if day else clock.today()
    return reminders.send_due_reminders(today)
