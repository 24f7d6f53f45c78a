from django.utils.functional import SimpleLazyObject

from .navigation import screens_for


def navigation(request):
    """The menu of the user's screens and the unread count of their inbox. The count is
    lazy: fragments that do not show the header cost no query for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_screens": [], "unread_count": 0}
    return {
        "nav_screens": screens_for(user),
        "unread_count": SimpleLazyObject(lambda: user.notifications.filter(read_at__isnull=True).count()),
    }
