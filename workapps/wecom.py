"""A small client of WeCom's (企业微信) server API for an internal app, written against the
published documentation (developer.work.weixin.qq.com): WeCom has no maintained Python SDK.

- GET  /cgi-bin/gettoken?corpid=&corpsecret=   -> access_token, expires_in (7200 s)
- POST /cgi-bin/message/send?access_token=     application message (here a text card)
- GET  /cgi-bin/auth/getuserinfo?access_token=&code=   OAuth code -> userid (sign-in)

Error codes the callers act on: 40014 (invalid token) and 42001 (expired token): fetch a new
token once and call again; 45009 (over the call limit) and 45033 (too many concurrent calls):
back off; 60111 (userid not found) and 81013 (no recipient valid), or errcode 0 with the
recipient in `invaliduser`: that message can never be delivered; 40008, 40058, 44004, 45002,
45004 (invalid message type or parameter, empty content, content or description too long): the
message's content is refused, and would be again. Every call has a timeout."""

from django.conf import settings

from .common import (
    WECOM,
    CachedToken,
    NotConfigured,
    UnknownUser,
    call,
    fit_bytes,
    is_configured,
    raise_for,
    token_cache_key,
)

TOKEN_ERRORS = {40014, 42001}
RATE_LIMITS = {45009, 45033}
UNKNOWN_USER = {60111, 81013}
CONTENT_ERRORS = {40008, 40058, 44004, 45002, 45004}
# The same message (the same request JSON) is shown once within this many seconds, however often
# it is sent: the longest WeCom allows (4 hours), far longer than a worker's lease (5 minutes),
# so a card re-sent because its worker died mid-send reaches the person once.
DUPLICATE_CHECK_SECONDS = 4 * 60 * 60
# Limits of a text card (bytes, UTF-8).
TITLE_BYTES, DESCRIPTION_BYTES = 128, 512


class Client:
    def __init__(self):
        if not is_configured(WECOM):
            raise NotConfigured(WECOM)
        self.base = settings.WECOM_API_BASE
        self.corp_id, self.agent_id = settings.WECOM_CORP_ID, settings.WECOM_AGENT_ID
        self.secret = settings.WECOM_SECRET
        key = token_cache_key(WECOM, self.base, self.corp_id, self.agent_id, self.secret)
        self.token = CachedToken(key, self._fetch_token)

    def _fetch_token(self):
        answer = call(
            "GET", f"{self.base}/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
        )
        _check(answer)
        return answer["access_token"], answer.get("expires_in", 7200)

    def _with_token(self, method, path, *, params=None, body=None):
        """Call with the cached token; on a token error fetch a new one and call once more."""
        token = self.token.get()
        for attempt in range(2):
            answer = call(method, f"{self.base}{path}", params={**(params or {}), "access_token": token}, body=body)
            if answer.get("errcode") in TOKEN_ERRORS and attempt == 0:
                token = self.token.refresh(token)
                continue
            _check(answer)
            return answer
        raise AssertionError("unreachable")

    @staticmethod
    def card(*, userid, agent_id, title, description, url, button):
        """The request body of a text card to one person: the same message always gives the same
        body (WeCom's duplicate check compares the request)."""
        return {
            "touser": userid,
            "msgtype": "textcard",
            "agentid": agent_id,
            "textcard": {
                "title": fit_bytes(title, TITLE_BYTES),
                "description": fit_bytes(description, DESCRIPTION_BYTES),
                "url": url,
                "btntxt": button,
            },
            "enable_duplicate_check": 1,
            "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
        }

    def send_card(self, *, userid, title, description, url, button):
        """Send a text card to one person. Returns WeCom's answer (with its msgid)."""
        body = self.card(
            userid=userid, agent_id=self.agent_id, title=title, description=description, url=url, button=button
        )
        answer = self._with_token("POST", "/cgi-bin/message/send", body=body)
        invalid = {name for name in (answer.get("invaliduser") or "").lower().split("|") if name}
        if userid.lower() in invalid:
            raise UnknownUser(0, f"invaliduser: {answer.get('invaliduser')}")
        return answer

    def userid_for_code(self, code):
        """The member who signed in with this OAuth code (empty if it is not a member)."""
        answer = self._with_token("GET", "/cgi-bin/auth/getuserinfo", params={"code": code})
        return answer.get("userid") or answer.get("UserId") or ""


def _check(answer):
    errcode = answer.get("errcode", 0)
    if errcode == 0:
        return
    errmsg = str(answer.get("errmsg", ""))
    raise_for(
        errcode,
        errmsg,
        token_errors=TOKEN_ERRORS,
        rate_limits=RATE_LIMITS,
        unknown_user=UNKNOWN_USER,
        content_errors=CONTENT_ERRORS,
    )


def authorize_url(*, redirect_uri, state):
    """The OAuth page WeCom opens inside the app; it comes back to `redirect_uri` with code
    and state (scope snsapi_base: the userid only, without asking the person)."""
    from urllib.parse import urlencode

    query = urlencode(
        {
            "appid": settings.WECOM_CORP_ID,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
            "agentid": settings.WECOM_AGENT_ID,
        }
    )
    return f"{settings.WECOM_AUTHORIZE_URL}?{query}#wechat_redirect"
