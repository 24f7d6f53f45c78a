"""Write use cases of the outbox. Every app notifies people through these, inside the
transaction of the change that causes the message: the row commits with the change, and a
worker delivers it after the commit (or the sweep does, if the broker was down). A message
the recipient takes in the daily digest is held for it; the inbox shows it at once either way."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lightboard.text import one_line

from . import channels, kinds
from .delivery import give_up_after
from .models import ChannelDelivery, Notification, Preference
from .tasks import queue_delivery

SUBJECT_LIMIT = Notification._meta.get_field("subject").max_length
State = Notification.State


def _subject(text):
    """A subject is one line (an e-mail header cannot hold a line break) and fits its column."""
    return one_line(text)[:SUBJECT_LIMIT]


def modes_for(user_ids):
    """{(user id, category): mode} of the people's own choices (one query)."""
    return {
        (user_id, category): mode
        for user_id, category, mode in Preference.objects.filter(user_id__in=set(user_ids)).values_list(
            "user_id", "category", "mode"
        )
    }


def _initial_state(user_id, kind, chosen):
    category = kinds.category_of(kind)
    mode = chosen.get((user_id, category), kinds.DEFAULTS[category])
    if mode == kinds.Mode.DAILY:
        return State.HELD
    if mode == kinds.Mode.OFF:
        return State.SENT  # in the inbox only: nothing to e-mail
    return State.PENDING


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
    if not by_key:
        return []
    existing = set(Notification.objects.filter(idempotency_key__in=by_key).values_list("idempotency_key", flat=True))
    new = {key: message for key, message in by_key.items() if key not in existing}
    chosen = modes_for(message.recipient.pk for message in new.values())
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=m.recipient,
                kind=m.kind,
                subject=_subject(m.subject),
                body=m.body,
                link=m.link,
                idempotency_key=key,
                state=_initial_state(m.recipient.pk, m.kind, chosen),
            )
            for key, m in new.items()
        ],
        ignore_conflicts=True,
    )
    created = list(Notification.objects.filter(idempotency_key__in=new).only("pk", "state", "recipient_id"))
    channels.create_for(created)
    if any(notification.state == State.PENDING for notification in created):
        queue_delivery()
    return created


def notify(*, recipient, kind, subject, key, body="", link=""):
    """Queue one message to one person (and, when it goes out at once, to their WeCom/DingTalk
    if configured). The same idempotency key never makes a second message. Returns the
    notification."""
    state = _initial_state(recipient.pk, kind, modes_for([recipient.pk]))
    notification, created = Notification.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "recipient": recipient,
            "kind": kind,
            "subject": _subject(subject),
            "body": body,
            "link": link,
            "state": state,
        },
    )
    if created and state == State.PENDING:
        channels.create_for([notification])
        queue_delivery()
    return notification


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


@transaction.atomic
def requeue(*, notifications):
    """Send failed messages, or pending ones no worker holds, again now, with a fresh retry time
    and backoff; messages already sent, and a message a worker is sending at this moment, are
    left alone. Returns the ids of the re-queued messages."""
    return _requeue(Notification, notifications)


@transaction.atomic
def requeue_deliveries(*, deliveries):
    """The same for WeCom/DingTalk deliveries (after the recipient's user id was corrected, or
    the app's outage is over). Returns the ids of the re-queued deliveries."""
    return _requeue(ChannelDelivery, deliveries)


def _requeue(model, rows):
    now = timezone.now()
    not_held = Q(claimed_at__isnull=True) | Q(next_attempt_at__lte=now)  # no worker's lease runs
    ids = list(
        rows.filter(Q(state=State.FAILED) | (Q(state=State.PENDING) & not_held))
        .select_for_update()
        .values_list("pk", flat=True)
    )
    model.objects.filter(pk__in=ids).update(
        state=State.PENDING,
        next_attempt_at=now,
        retry_until=now + give_up_after(),
        attempts=0,
        claimed_at=None,
        claim_token="",
        crashes=0,
    )
    if ids:
        queue_delivery()
    return ids


@transaction.atomic
def set_preferences(*, user, modes):
    """The person's e-mail choice per category ({category: mode}); a choice the category does
    not offer raises ValueError and changes nothing."""
    for category, mode in modes.items():
        if mode not in kinds.CHOICES[kinds.Category(category)]:
            raise ValueError(f"{category} cannot be {mode}")
    for category, mode in modes.items():
        Preference.objects.update_or_create(user=user, category=category, defaults={"mode": mode})
