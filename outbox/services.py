"""Write use cases of the outbox. Every app notifies people through these, inside the
transaction of the change that causes the message: the row commits with the change, and a
worker delivers it after the commit (or the sweep does, if the broker was down)."""

from django.utils import timezone

from .models import Notification
from .tasks import queue_delivery

SUBJECT_LIMIT = Notification._meta.get_field("subject").max_length


def notify(*, recipient, kind, subject, key, body="", link=""):
    """Queue one message to one person. The same idempotency key never makes a second message.
    Returns the notification."""
    notification, created = Notification.objects.get_or_create(
        idempotency_key=key,
        defaults={"recipient": recipient, "kind": kind, "subject": subject[:SUBJECT_LIMIT], "body": body, "link": link},
    )
    if created:
        queue_delivery(notification)
    return notification


def notify_many(*, recipients, kind, subject, key, body="", link=""):
    """The same message to many people in a fixed number of queries; `key(user)` gives each
    one's idempotency key, so a repeated call adds nobody twice. Returns the new notifications."""
    keys = {key(user): user for user in recipients}
    existing = set(Notification.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=user, kind=kind, subject=subject[:SUBJECT_LIMIT], body=body, link=link, idempotency_key=k
            )
            for k, user in keys.items()
            if k not in existing
        ],
        ignore_conflicts=True,
    )
    created = list(Notification.objects.filter(idempotency_key__in=set(keys) - existing).only("pk"))
    for notification in created:
        queue_delivery(notification)
    return created


def mark_read(*, notification):
    """The recipient opened the message (an already read one keeps its first reading time)."""
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())


def mark_all_read(*, recipient):
    """Every unread message of the recipient is read now. Returns how many there were."""
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).update(read_at=timezone.now())
