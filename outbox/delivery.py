"""Delivering the outbox: each Notification row is claimed by one worker at a time,
e-mailed with a Message-ID derived from its idempotency key, and marked sent or retried
with backoff until it is marked failed. The in-app inbox is the row itself."""

import datetime
import hashlib
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from lightboard.text import one_line

from .models import Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A pending row younger than this is left to the Celery task queued at commit time;
# the beat sweep picks up whatever is still pending after it.
SWEEP_AFTER = datetime.timedelta(minutes=1)


def message_id(notification):
    """The same notification always carries the same Message-ID, so a copy re-sent after a
    crash between sending and recording is recognisable as the same message."""
    digest = hashlib.sha256(notification.idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{settings.LIGHTBOARD_MAIL_DOMAIN}>"


def backoff(attempts):
    """Wait before the next attempt: 1, 2, 4, 8 … minutes."""
    return datetime.timedelta(minutes=2 ** max(attempts - 1, 0))


def _send_email(notification):
    recipient = notification.recipient
    if not recipient.email:
        return  # the inbox row is the message
    body = notification.body
    if notification.link:
        body = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{notification.link}"
    EmailMessage(
        subject=one_line(notification.subject),
        body=body,
        to=[recipient.email],
        headers={"Message-ID": message_id(notification)},
    ).send()


def deliver(notification_id):
    """Deliver one pending notification if it is due and no other worker holds it.
    Returns "sent", "retry", "failed" or "skipped"."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, state=Notification.State.PENDING, next_attempt_at__lte=timezone.now())
            .first()
        )
        if notification is None:
            return "skipped"
        notification.attempts += 1
        try:
            _send_email(notification)
        except Exception as error:  # any transport error: record it and try again later
            notification.last_error = f"{type(error).__name__}: {error}"[:2000]
            if notification.attempts >= MAX_ATTEMPTS:
                notification.state = Notification.State.FAILED
                outcome = "failed"
                log.error("notification %s failed after %s attempts: %s", notification.pk, notification.attempts, error)
            else:
                notification.next_attempt_at = timezone.now() + backoff(notification.attempts)
                outcome = "retry"
        else:
            notification.state = Notification.State.SENT
            notification.sent_at = timezone.now()
            notification.last_error = ""
            outcome = "sent"
        notification.save(update_fields=["attempts", "state", "sent_at", "last_error", "next_attempt_at"])
        return outcome


def due_for_sweep(now=None):
    """IDs of pending notifications the sweep should deliver now."""
    now = now or timezone.now()
    return list(
        Notification.objects.filter(
            state=Notification.State.PENDING, next_attempt_at__lte=now, created_at__lte=now - SWEEP_AFTER
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:1000]
    )
