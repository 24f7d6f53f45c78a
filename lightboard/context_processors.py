from .navigation import nav_entries


def navigation(request):
    """The menu of the user's screens."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_screens": []}
    match = getattr(request, "resolver_match", None)
    return {"nav_screens": nav_entries(user, match.view_name if match else None)}
