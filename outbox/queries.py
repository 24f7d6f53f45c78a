"""Read helpers of the outbox: the inbox and its unread count, and the preferences page."""

from . import kinds
from .models import Notification, Preference

INBOX_PAGE = 100


def _inbox_rows(user):
    # The digest e-mail carries messages that are in the inbox already.
    return Notification.objects.filter(recipient=user).exclude(kind=kinds.DIGEST)


def inbox(user, limit=INBOX_PAGE):
    """The user's newest messages, newest first (one query)."""
    return list(_inbox_rows(user).order_by("-created_at", "-id")[:limit])


def unread_count(user):
    return _inbox_rows(user).filter(read_at__isnull=True).count()


def preferences(user, categories):
    """[(category, chosen mode, modes offered)] for the given categories (one query)."""
    chosen = dict(Preference.objects.filter(user=user).values_list("category", "mode"))
    return [
        (category, chosen.get(category, kinds.DEFAULTS[category]), kinds.CHOICES[category]) for category in categories
    ]


def turned_off(category):
    """The ids of the people who turned a category off (a subquery)."""
    return Preference.objects.filter(category=category, mode=kinds.Mode.OFF).values("user_id")
