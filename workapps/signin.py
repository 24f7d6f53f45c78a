"""Signing in from inside WeCom or DingTalk: the OAuth code flow of each app, and the links in
app messages that go through it.

start: a random `state` and the page to land on are kept in the session, and the person is sent
to the app's authorisation page; callback: the app sends them back with a code and that state;
the state must be the session's (else someone else's sign-in could be slipped in: login CSRF), the
code gives the app's user id, the id an active lightboard user, and that user is signed in (a new
session key: no fixation) and lands on the page, which must be a path of this site."""

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from . import common, dingtalk, wecom

SESSION_KEY = "workapps_signin"
AUTHORIZE = {common.WECOM: wecom.authorize_url, common.DINGTALK: dingtalk.authorize_url}
CLIENTS = {common.WECOM: wecom.Client, common.DINGTALK: dingtalk.Client}
# The user agents of the apps' built-in browsers.
USER_AGENTS = {common.WECOM: "wxwork", common.DINGTALK: "dingtalk"}


def site_url():
    return settings.SITE_URL.rstrip("/")


def safe_next(path, default="/"):
    """Only a path of this site (no other host, no scheme-relative //host)."""
    if path and path.startswith("/") and url_has_allowed_host_and_scheme(path, allowed_hosts=None):
        return path
    return default


def start_path(channel, next_path="/"):
    return reverse("workapps:start", args=[channel]) + "?" + urlencode({"next": safe_next(next_path)})


def message_url(channel, link):
    """The absolute address a message's button opens: the page itself, through the app's
    sign-in when that is on (a tap in the app then signs the person in first)."""
    path = link or reverse("inbox:index")
    if channel in common.signin_channels():
        return site_url() + start_path(channel, path)
    return site_url() + path


def app_of(user_agent):
    """The configured app whose built-in browser this is, or None."""
    agent = (user_agent or "").lower()
    for channel in common.signin_channels():
        if USER_AGENTS[channel] in agent:
            return channel
    return None


def begin(session, channel, next_path):
    """Remember a new sign-in attempt; returns the app's authorisation address."""
    state = secrets.token_hex(16)  # WeCom accepts [a-zA-Z0-9] only
    session[SESSION_KEY] = {"channel": channel, "state": state, "next": safe_next(next_path)}
    redirect_uri = site_url() + reverse("workapps:callback", args=[channel])
    return AUTHORIZE[channel](redirect_uri=redirect_uri, state=state)


class Refused(Exception):
    """Sign-in refused, with the reason shown to the person."""

    def __init__(self, reason, status=403):
        super().__init__(reason)
        self.reason, self.status = reason, status


def finish(session, channel, *, state, code):
    """Check the callback against the session's attempt (used once); returns (user, next path).
    Raises Refused."""
    attempt = session.pop(SESSION_KEY, None)
    if (
        not attempt
        or attempt.get("channel") != channel
        or not state
        or not secrets.compare_digest(str(attempt.get("state", "")), str(state))
    ):
        raise Refused("state", status=400)
    if not code:
        raise Refused("code", status=400)
    try:
        userid = CLIENTS[channel]().userid_for_code(code)
    except common.UnknownUser:
        userid = ""
    except (common.WorkAppError, common.Transport) as error:
        raise Refused("service", status=502) from error
    if not userid:
        raise Refused("unknown")
    field = common.USERID_FIELD[channel]
    user = get_user_model().objects.filter(**{field: userid}).first()
    if user is None:
        raise Refused("unknown")
    if not user.is_active:
        raise Refused("inactive")
    return user, attempt.get("next") or "/"
