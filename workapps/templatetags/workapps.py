from django import template
from django.utils.translation import gettext as _

from workapps import common, signin

register = template.Library()


@register.simple_tag(takes_context=True)
def workapp_signin(context, next_path=""):
    """The sign-in buttons of the configured apps for the login page, and the one to go through
    at once when the page is open inside that app's browser (not after a failed password, and
    not when the person asked for the password form with ?password=1)."""
    request = context["request"]
    labels = {common.WECOM: _("Sign in with WeCom"), common.DINGTALK: _("Sign in with DingTalk")}
    buttons = [
        {"channel": channel, "label": labels[channel], "url": signin.start_path(channel, next_path or "/")}
        for channel in common.signin_channels()
    ]
    inside = signin.app_of(request.META.get("HTTP_USER_AGENT"))
    auto = None
    if inside and request.method == "GET" and "password" not in request.GET:
        auto = signin.start_path(inside, next_path or "/")
    return {"buttons": buttons, "auto": auto}
