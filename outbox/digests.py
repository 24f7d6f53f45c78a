"""The daily digest: the messages a person takes once a day (reminders and commendations by
default) go in one e-mail per person and day. They are in the inbox from the start; the
digest is only the e-mail, an outbox row of its own keyed by person and day, so any number of
beat processes send it once."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from . import channels, kinds
from .models import Notification

State = Notification.State


def digest_key(user_id, day):
    return f"digest:{user_id}:{day.isoformat()}"


def digest_body(rows):
    """One entry per message, oldest first: its time, its subject and where it points."""
    site = settings.SITE_URL.rstrip("/")
    lines = []
    for row in rows:
        lines.append(f"{timezone.localtime(row.created_at):%m-%d %H:%M}  {row.subject}")
        if row.link:
            lines.append(f"    {site}{row.link}")
    return "\n".join(lines)


def send_daily_digests(now):
    """From DIGEST_HOUR (local time) on, gather each person's held messages into that day's
    digest. Returns how many digests were written; before the hour, or a second time the same
    day, none."""
    local = timezone.localtime(now)
    if local.hour < settings.DIGEST_HOUR:
        return 0
    day = local.date()
    people = Notification.objects.filter(state=State.HELD).values_list("recipient_id", flat=True).distinct()
    return sum(_gather(user_id, day) for user_id in list(people))


@transaction.atomic
def _gather(user_id, day):
    # Locking the held rows makes a second beat process wait here, then find them gathered.
    held = list(
        Notification.objects.select_for_update()
        .filter(recipient_id=user_id, state=State.HELD)
        .order_by("created_at", "id")
    )
    if not held:
        return 0
    with override(settings.LANGUAGE_CODE):
        subject = ngettext(
            "Your daily digest of %(day)s: %(count)d message",
            "Your daily digest of %(day)s: %(count)d messages",
            len(held),
        ) % {"day": day.isoformat(), "count": len(held)}
        intro = _("These messages are in your lightboard inbox:")
    # The caller signals the workers once all digests are written.
    digest, created = Notification.objects.get_or_create(
        idempotency_key=digest_key(user_id, day),
        defaults={
            "recipient_id": user_id,
            "kind": kinds.DIGEST,
            "subject": subject,
            "body": f"{intro}\n\n{digest_body(held)}",
            "read_at": timezone.now(),  # an envelope: the messages it carries are in the inbox
        },
    )
    if not created:
        return 0  # today's digest went already; these wait for tomorrow's
    channels.create_for([digest])
    Notification.objects.filter(pk__in=[row.pk for row in held]).update(state=State.DIGESTED, digest=digest)
    return 1
