from django.utils.functional import SimpleLazyObject

from .queries import latest_commendation


def commendation(request):
    """The latest commendation notice, for the banner on each role's main screen. Lazy: pages
    without the banner cost no query for it."""
    return {"commendation": SimpleLazyObject(lambda: latest_commendation(request.user))}
