"""Who may see a notification: its recipient, and nobody else."""

from django.http import Http404

from .models import Notification


def get_notification_for_user(user, notification_id):
    """The user's own notification, or 404 (another person's messages do not exist for them)."""
    try:
        return Notification.objects.get(pk=notification_id, recipient_id=user.pk)
    except Notification.DoesNotExist:
        raise Http404 from None
