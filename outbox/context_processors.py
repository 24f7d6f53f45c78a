from django.utils.functional import SimpleLazyObject

from .queries import unread_count


def inbox(request):
    """The unread count of the signed-in user's inbox, shown in the header. Lazy: fragments
    that do not show the header cost no query for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_count": 0}
    return {"unread_count": SimpleLazyObject(lambda: unread_count(user))}
