"""What the WeCom and DingTalk clients share: which apps are configured, the errors a send can
end in (the outbox decides from the error what happens to the delivery), JSON over HTTP with a
timeout on every call, and the access token kept in Django's cache (shared by every process when
the cache is Redis) until shortly before it expires."""

import hashlib

import requests
from django.conf import settings
from django.core.cache import cache

WECOM, DINGTALK = "wecom", "dingtalk"
CHANNELS = (WECOM, DINGTALK)
# The user field that holds each app's user id.
USERID_FIELD = {WECOM: "wecom_userid", DINGTALK: "dingtalk_userid"}
# A cached token is dropped this long before the service says it expires.
TOKEN_MARGIN_SECONDS = 300


def is_configured(channel):
    if channel == WECOM:
        return bool(settings.WECOM_CORP_ID and settings.WECOM_AGENT_ID and settings.WECOM_SECRET)
    if channel == DINGTALK:
        return bool(settings.DINGTALK_APP_KEY and settings.DINGTALK_APP_SECRET and settings.DINGTALK_AGENT_ID)
    return False


def configured_channels():
    return [channel for channel in CHANNELS if is_configured(channel)]


def signin_channels():
    """The apps people may sign in from (configured, and sign-in not switched off)."""
    return configured_channels() if settings.WORKAPPS_SIGNIN else []


class WorkAppError(Exception):
    """The service answered with an error code (errcode, errmsg as it said)."""

    def __init__(self, errcode, errmsg=""):
        self.errcode, self.errmsg = errcode, errmsg
        super().__init__(f"errcode {errcode}: {errmsg}")


class NotConfigured(WorkAppError):
    def __init__(self, channel):
        super().__init__("-", f"{channel} is not configured")


class TokenRejected(WorkAppError):
    """The access token is invalid or expired (refreshed once, then this)."""


class RateLimited(WorkAppError):
    """The service refuses calls for a while: back off, this is not the message's fault."""


class UnknownUser(WorkAppError):
    """The recipient is not a user of the app (or not in its visible range): permanent."""


class ContentRefused(WorkAppError):
    """The service refused the message's content (a parameter it calls invalid or too long): the
    same message would be refused again, so it is not retried."""


def raise_for(errcode, errmsg, *, token_errors, rate_limits, unknown_user, content_errors):
    """Turn an app's error code into the error the outbox acts on (the code sets are each app's)."""
    for codes, error in (
        (token_errors, TokenRejected),
        (rate_limits, RateLimited),
        (unknown_user, UnknownUser),
        (content_errors, ContentRefused),
    ):
        if errcode in codes:
            raise error(errcode, errmsg)
    raise WorkAppError(errcode, errmsg)


class Transport(Exception):
    """No answer, a broken connection, a timeout, or an answer that is not a JSON object: the
    service (or something in front of it) is not answering as it should."""


def fit_bytes(text, limit):
    """`text` cut to at most `limit` bytes of UTF-8 (with an ellipsis when cut)."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode(errors="ignore") + "…"


def fit_chars(text, limit):
    """`text` cut to at most `limit` characters (with an ellipsis when cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def timeout():
    return (settings.WORKAPPS_TIMEOUT, settings.WORKAPPS_TIMEOUT)


def call(method, url, *, params=None, body=None, headers=None):
    """One JSON call. Returns the decoded answer (any HTTP status with a JSON object as its body,
    since both services put their error codes in the body); raises Transport on no usable answer,
    a JSON list or string included (a proxy's page, say), which the callers could not read."""
    try:
        response = requests.request(method, url, params=params, json=body, headers=headers, timeout=timeout())
        answer = response.json()
    except (requests.RequestException, ValueError) as error:
        raise Transport(f"{type(error).__name__}: {error}") from error
    if not isinstance(answer, dict):
        raise Transport(f"the answer (HTTP {response.status_code}) is JSON but not an object: {str(answer)[:200]}")
    return answer


def token_cache_key(channel, *parts):
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()[:24]
    return f"workapps:token:{channel}:{digest}"


class CachedToken:
    """An app access token in Django's cache. `fetch()` returns (token, expires_in seconds)."""

    def __init__(self, key, fetch):
        self.key, self.fetch = key, fetch

    def get(self):
        token = cache.get(self.key)
        if token:
            return token
        token, expires_in = self.fetch()
        lifetime = max(int(expires_in) - TOKEN_MARGIN_SECONDS, 1)
        cache.set(self.key, token, lifetime)
        return token

    def refresh(self, rejected):
        """The service refused `rejected`: drop it (unless another process already replaced
        it) and fetch a new one."""
        if cache.get(self.key) == rejected:
            cache.delete(self.key)
        return self.get()
