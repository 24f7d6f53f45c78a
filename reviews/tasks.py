"""Celery tasks of the reviews app. They only call services and the delivery module."""

from celery import shared_task

from . import delivery, reminders


@shared_task(acks_late=True, reject_on_worker_lost=True, max_retries=3, ignore_result=True)
def deliver_notification(notification_id):
    """Deliver one notification (idempotent: a row is claimed before it is sent)."""
    return delivery.deliver(notification_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep_outbox():
    """Beat: deliver whatever is still pending after a minute, or due for a retry."""
    outcomes = [delivery.deliver(pk) for pk in delivery.due_for_sweep()]
    return {outcome: outcomes.count(outcome) for outcome in set(outcomes)}


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_due_reminders():
    """Beat: today's reminders, each once per person, item and day."""
    return reminders.send_due_reminders()
