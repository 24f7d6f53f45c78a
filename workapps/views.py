"""Sign-in from inside WeCom and DingTalk (workapps.signin has the rules). A channel that is not
configured answers 404 here."""

from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import common, signin

BACKEND = "tasks.backends.ModelBackend"


def _channel_or_404(channel):
    if channel not in common.signin_channels():
        raise Http404
    return channel


@require_GET
def start(request, channel):
    """Open the app's sign-in; someone already signed in goes straight to the page."""
    _channel_or_404(channel)
    next_path = signin.safe_next(request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_path)
    return redirect(signin.begin(request.session, channel, next_path))


REASONS = {
    "state": lambda: _(
        "This sign-in was not started in this browser, or it has been used already. Open lightboard again from the app."
    ),
    "code": lambda: _("The app did not confirm who you are. Open lightboard again from the app."),
    "service": lambda: _("The app could not be reached to confirm who you are. Please try again in a moment."),
    "unknown": lambda: _(
        "Your account in the app is not linked to a lightboard user. Ask an administrator to enter your "
        "user id of the app on your lightboard account, or sign in with your username and password."
    ),
    "inactive": lambda: _("Your lightboard account is disabled. Ask an administrator if you need it again."),
    "refused": lambda: _("You cannot sign in through the app now. Sign in with your username and password."),
}


@require_GET
def callback(request, channel):
    _channel_or_404(channel)
    code = request.GET.get("code") if channel == common.WECOM else request.GET.get("authCode")
    try:
        user, next_path = signin.finish(request.session, channel, state=request.GET.get("state"), code=code)
    except signin.Refused as refused:
        reason = refused.message or REASONS[refused.reason]()
        context = {"reason": reason, "channel": common_label(channel)}
        return render(request, "workapps/signin_refused.html", context, status=refused.status)
    login(request, user, backend=BACKEND)
    return redirect(next_path)


def common_label(channel):
    return {common.WECOM: _("WeCom"), common.DINGTALK: _("DingTalk")}[channel]
