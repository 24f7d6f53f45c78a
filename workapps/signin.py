"""Signing in from inside WeCom or DingTalk: the OAuth code flow of each app, and the links in
app messages that go through it.

start: a random `state` and the page to land on are kept in the session, and the person is sent
to the app's authorisation page; callback: the app sends them back with a code and that state;
the state must be the session's (else someone else's sign-in could be slipped in: login CSRF), the
code gives the app's user id, the id an active lightboard user, whom no receiver of `signing_in`
refuses (the directory re-reads its people there: directory.workapp_checks), and that user is
signed in (a new session key: no fixation) and lands on the page, which must be a path of this
site."""

import logging
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.dispatch import Signal
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from . import common, dingtalk, wecom

log = logging.getLogger(__name__)
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


def with_query(url, **params):
    """`url` with these parameters added to its query, before any #fragment."""
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


def start_path(channel, next_path="/"):
    """The sign-in entry of the app; `next` is the whole page address, its query and #fragment
    included (encoded), where the person lands once signed in."""
    return with_query(reverse("workapps:start", args=[channel]), next=safe_next(next_path))


def message_url(channel, link, token=""):
    """The absolute address a message's button opens: the page itself, through the app's
    sign-in when that is on (a tap in the app then signs the person in first). `token` (the
    notification's, see outbox.channels.message_token) goes in as `m=`: both apps compare a
    message's content to drop repeats, and two notifications that say the same thing must not
    count as one; the page ignores it."""
    path = link or reverse("inbox:index")
    url = site_url() + (start_path(channel, path) if channel in common.signin_channels() else path)
    return with_query(url, m=token) if token else url


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


class SignInRefused(Exception):
    """Raised by a receiver of `signing_in` to refuse the sign-in; `reason` is shown to the person."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


# Sent (sender: the channel) with `user` once the app has said who is signing in, before they are
# signed in; any receiver may refuse by raising SignInRefused. A signal because the rules live in
# apps above workapps in the layering (the directory), which workapps may not import.
signing_in = Signal()


class Refused(Exception):
    """Sign-in refused, with the reason shown to the person."""

    def __init__(self, reason, status=403, message=""):
        super().__init__(reason)
        self.reason, self.status, self.message = reason, status, message


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
    # WeCom treats user ids without regard to case (its answers may spell one differently).
    lookup = f"{field}__iexact" if channel == common.WECOM else field
    found = list(get_user_model().objects.filter(**{lookup: userid})[:2])
    if len(found) != 1:  # nobody, or (differing in case only) not one person
        raise Refused("unknown")
    [user] = found
    if not user.is_active:
        raise Refused("inactive")
    try:
        signing_in.send(sender=channel, user=user)
    except SignInRefused as refused:
        raise Refused("refused", message=refused.reason) from refused
    except Exception as error:  # a receiver that broke (a directory it could not read …): not a 500
        log.exception("workapps: a receiver of signing_in failed for %s (%s)", user.pk, channel)
        raise Refused("service", status=502) from error
    user.refresh_from_db()  # a receiver may have brought the user up to date, or disabled them
    if not user.is_active:
        raise Refused("inactive")
    return user, attempt.get("next") or "/"
