"""Who may see a notification (its recipient, and nobody else), and which message choices a person has."""

from django.http import Http404

from lightboard.roles import Role, has_role

from .kinds import Category
from .models import Notification


def get_notification_for_user(user, notification_id):
    """The user's own notification, or 404 (another person's messages do not exist for them)."""
    try:
        return Notification.objects.get(pk=notification_id, recipient_id=user.pk)
    except Notification.DoesNotExist:
        raise Http404 from None


def categories_for(user):
    """The kinds of message a person chooses a delivery for: the weekly briefing only for the
    leadership group; notices to administrators are not a choice."""
    shown = [category for category in Category if category not in (Category.BRIEFING, Category.SYSTEM)]
    if has_role(user, Role.LEADERSHIP):
        shown.append(Category.BRIEFING)
    return shown
