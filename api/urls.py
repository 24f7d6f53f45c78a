from django.http import JsonResponse
from django.urls import path, re_path, reverse
from django.utils.translation import gettext as _

from .views import api


def index(request):
    """/api/v1/ itself: where the document and its page are (public, like them)."""
    return JsonResponse(
        {
            "title": api.title,
            "version": api.version,
            "openapi": reverse("api:openapi-json"),
            "docs": reverse("api:openapi-view"),
        },
        json_dumps_params={"ensure_ascii": False},
    )


def not_found(request, rest=""):
    """Any other address under /api/v1/ answers in JSON too, not with the site's HTML page."""
    return JsonResponse(
        {"detail": _("Not found."), "errors": {}}, status=404, json_dumps_params={"ensure_ascii": False}
    )


urlpatterns = [
    path("", index),
    path("", api.urls),
    re_path(r"^(?P<rest>.*)$", not_found),
]
