from .navigation import screens_for


def navigation(request):
    """The menu of the user's screens."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_screens": []}
    return {"nav_screens": screens_for(user)}
