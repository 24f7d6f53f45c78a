"""Read helpers of the outbox: the inbox and its unread count."""

from .models import Notification

INBOX_PAGE = 100


def inbox(user, limit=INBOX_PAGE):
    """The user's newest messages, newest first (one query)."""
    return list(Notification.objects.filter(recipient=user).order_by("-created_at", "-id")[:limit])


def unread_count(user):
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
