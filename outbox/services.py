"""Write use cases of the outbox. Every app notifies people through these, inside the
transaction of the change that causes the message: the row commits with the change, and a
worker delivers it after the commit (or the sweep does, if the broker was down)."""

from dataclasses import dataclass

from django.utils import timezone

from lightboard.text import one_line

from .models import Notification
from .tasks import queue_delivery

SUBJECT_LIMIT = Notification._meta.get_field("subject").max_length


def _subject(text):
    """A subject is one line (an e-mail header cannot hold a line break) and fits its column."""
    return one_line(text)[:SUBJECT_LIMIT]


def notify(*, recipient, kind, subject, key, body="", link=""):
    """Queue one message to one person. The same idempotency key never makes a second message.
    Returns the notification."""
    notification, created = Notification.objects.get_or_create(
        idempotency_key=key,
        defaults={"recipient": recipient, "kind": kind, "subject": _subject(subject), "body": body, "link": link},
    )
    if created:
        queue_delivery(notification)
    return notification


@dataclass(frozen=True)
class Message:
    """One message to one person, for notify_each."""

    recipient: object
    kind: str
    subject: str
    key: str
    body: str = ""
    link: str = ""


def notify_each(messages):
    """Many messages, each to its own person, in a fixed number of queries whatever their
    number; a message whose idempotency key was written before is not written again. Returns
    the new notifications."""
    by_key = {message.key: message for message in messages}
    existing = set(Notification.objects.filter(idempotency_key__in=by_key).values_list("idempotency_key", flat=True))
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=m.recipient,
                kind=m.kind,
                subject=_subject(m.subject),
                body=m.body,
                link=m.link,
                idempotency_key=k,
            )
            for k, m in by_key.items()
            if k not in existing
        ],
        ignore_conflicts=True,
    )
    created = list(Notification.objects.filter(idempotency_key__in=set(by_key) - existing).only("pk"))
    for notification in created:
        queue_delivery(notification)
    return created


def notify_many(*, recipients, kind, subject, key, body="", link=""):
    """The same message to many people in a fixed number of queries; `key(user)` gives each
    one's idempotency key, so a repeated call adds nobody twice. Returns the new notifications."""
    return notify_each(Message(user, kind, subject, key(user), body, link) for user in recipients)


def mark_read(*, notification):
    """The recipient opened the message (an already read one keeps its first reading time)."""
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())


def mark_all_read(*, recipient):
    """Every unread message of the recipient is read now. Returns how many there were."""
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).update(read_at=timezone.now())
