"""Read helpers of the outbox: the inbox and its unread count, and the preferences page."""

from django.db.models import Count

from lightboard.statements import CompiledQuery

from . import kinds
from .models import Notification, Preference

INBOX_PAGE = 100


def _inbox_rows(user):
    # The digest e-mail carries messages that are in the inbox already.
    return Notification.objects.filter(recipient=user).exclude(kind=kinds.DIGEST)


def inbox(user, limit=INBOX_PAGE):
    """The user's newest messages, newest first (one query)."""
    return list(_inbox_rows(user).order_by("-created_at", "-id")[:limit])


# On every page (the menu's badge) and polled by it: compiled once per process.
UNREAD_COUNT = CompiledQuery(
    lambda user_id: (
        Notification.objects.filter(recipient_id=user_id, read_at__isnull=True)
        .exclude(kind=kinds.DIGEST)
        .order_by()
        .values("recipient_id")
        .annotate(unread=Count("id"))
        .values_list("unread")
    ),
    1,
)


def unread_count(user):
    counted = UNREAD_COUNT.rows(user.pk)  # no row when there is nothing unread
    return counted[0][0] if counted else 0


def preferences(user, categories):
    """[(category, chosen mode, modes offered)] for the given categories (one query)."""
    chosen = dict(Preference.objects.filter(user=user).values_list("category", "mode"))
    return [
        (category, chosen.get(category, kinds.DEFAULTS[category]), kinds.CHOICES[category]) for category in categories
    ]


def turned_off(category):
    """The ids of the people who turned a category off (a subquery)."""
    return Preference.objects.filter(category=category, mode=kinds.Mode.OFF).values("user_id")
