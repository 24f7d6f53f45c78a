"""DingTalk (钉钉) for an internal app: the official SDK (alibabacloud-dingtalk) where it covers
the call, plain HTTP for the older `topapi` endpoints it does not.

- SDK oauth2_1_0 GetAccessToken: POST {api}/v1.0/oauth2/accessToken {appKey, appSecret}
  -> accessToken, expireIn (the app token, which the topapi endpoints accept too)
- POST {oapi}/topapi/message/corpconversation/asyncsend_v2?access_token=  a work notification
  (工作通知) {agent_id, userid_list, msg{msgtype: action_card}} -> task_id. "ok" means the task
  was accepted: an invalid user id or a per-person limit is not an error here but shows later in
- POST {oapi}/topapi/message/corpconversation/getsendresult {agent_id, task_id} -> send_result
  {invalid_user_id_list, forbidden_user_id_list, failed_user_id_list, read_user_id_list,
  unread_user_id_list, forbidden_list[{code, count, userid}]}, for tasks of the last 24 hours
- Sign-in (current OAuth 2 for web pages): login.dingtalk.com/oauth2/auth -> authCode;
  SDK oauth2_1_0 GetUserToken: POST {api}/v1.0/oauth2/userAccessToken; SDK contact_1_0 GetUser:
  GET {api}/v1.0/contact/users/me -> unionId; POST {oapi}/topapi/user/getbyunionid -> userid.

Error codes acted on: 88 (authentication), 40014 (invalid token), 42001 (expired token): fetch a
new token once and call again; 90002, 90006, 90018 (over the app's or company's call limits):
back off; 33012 (invalid userid) and 60121 (user not found): permanent for that message (kept for
safety: the published documentation of asyncsend_v2 reports invalid ids in getsendresult, not as
an error of the call); 34016 (message content too long, in DingTalk's global error codes): the
content is refused, and would be again. 40035 and 400002 (an invalid parameter) are not taken as
the content's fault: a wrong agent id gives them too, and titles and texts are cut to fit, so
they are an ordinary error, retried with backoff. DingTalk shows a work notification with the
same content to the same person once a day (getsendresult lists the copy under forbidden, code
143106), so a copy re-sent after a crash is not shown twice. Every call has a timeout."""

from urllib.parse import urlencode, urlsplit

from django.conf import settings

from .common import (
    DINGTALK,
    CachedToken,
    NotConfigured,
    RateLimited,
    Transport,
    WorkAppError,
    call,
    fit_bytes,
    fit_chars,
    is_configured,
    raise_for,
    token_cache_key,
)

TOKEN_ERRORS = {88, 40014, 42001}
# 143103, 143104: per-minute limits of getsendresult (its documentation's error codes).
RATE_LIMITS = {90002, 90006, 90018, 143103, 143104}
UNKNOWN_USER = {33012, 60121}
# 34016 only: 40035/400002 ("invalid parameter") also come from configuration mistakes.
CONTENT_ERRORS = {34016}
# A work notification's msg may be at most 2048 bytes; the text part is kept well inside it.
MARKDOWN_BYTES = 1500
# The action card's title (shown in the conversation list and the notification) is cut to this.
TITLE_CHARS = 64


def _sdk_config():
    from alibabacloud_tea_openapi import models as openapi

    parts = urlsplit(settings.DINGTALK_API_BASE)
    return openapi.Config(protocol=parts.scheme or "https", endpoint=parts.netloc)


def _runtime():
    from alibabacloud_tea_util.models import RuntimeOptions

    milliseconds = settings.WORKAPPS_TIMEOUT * 1000
    return RuntimeOptions(read_timeout=milliseconds, connect_timeout=milliseconds, autoretry=False)


def _sdk_call(function, *args):
    """Run an SDK call; an error the service answered becomes WorkAppError, no answer Transport."""
    from Tea.exceptions import TeaException

    try:
        return function(*args, _runtime())
    except TeaException as error:
        data = error.data if isinstance(error.data, dict) else {}
        if "statusCode" in data or data.get("code"):
            code = data.get("code") or error.code
            if data.get("statusCode") == 429 or code in {"Throttling", "Forbidden.AccessDenied.QpsLimitForApi"}:
                raise RateLimited(code, str(data.get("message", ""))) from error
            raise WorkAppError(code, str(data.get("message", error.message))) from error
        raise Transport(f"{type(error).__name__}: {error.message}") from error
    except Exception as error:  # the SDK's HTTP layer: refused connection, timeout
        raise Transport(f"{type(error).__name__}: {error}") from error


class Client:
    def __init__(self):
        if not is_configured(DINGTALK):
            raise NotConfigured(DINGTALK)
        self.oapi = settings.DINGTALK_OAPI_BASE
        self.app_key, self.app_secret = settings.DINGTALK_APP_KEY, settings.DINGTALK_APP_SECRET
        self.agent_id = settings.DINGTALK_AGENT_ID
        key = token_cache_key(DINGTALK, settings.DINGTALK_API_BASE, self.app_key, self.app_secret)
        self.token = CachedToken(key, self._fetch_token)

    def _fetch_token(self):
        from alibabacloud_dingtalk.oauth2_1_0 import models
        from alibabacloud_dingtalk.oauth2_1_0.client import Client as OAuth

        request = models.GetAccessTokenRequest(app_key=self.app_key, app_secret=self.app_secret)
        answer = _sdk_call(OAuth(_sdk_config()).get_access_token_with_options, request, {})
        return answer.body.access_token, answer.body.expire_in or 7200

    def _oapi(self, path, body):
        """POST to a topapi endpoint with the cached token; on a token error fetch a new one
        and call once more."""
        token = self.token.get()
        for attempt in range(2):
            answer = call("POST", f"{self.oapi}{path}", params={"access_token": token}, body=body)
            if answer.get("errcode") in TOKEN_ERRORS and attempt == 0:
                token = self.token.refresh(token)
                continue
            _check(answer)
            return answer
        raise AssertionError("unreachable")

    @staticmethod
    def notification(*, userid, agent_id, title, text, url, button):
        """The request body of a work notification (an action card with one button) to one
        person; the same message always gives the same body."""
        return {
            "agent_id": agent_id,
            "userid_list": userid,
            "msg": {
                "msgtype": "action_card",
                "action_card": {
                    "title": fit_chars(title, TITLE_CHARS),
                    "markdown": fit_bytes(f"### {title}\n\n{text}".rstrip(), MARKDOWN_BYTES),
                    "single_title": button,
                    "single_url": url,
                },
            },
        }

    def send_notification(self, *, userid, title, text, url, button):
        """Send a work notification to one person. Returns DingTalk's answer (with its task_id)."""
        body = self.notification(userid=userid, agent_id=self.agent_id, title=title, text=text, url=url, button=button)
        return self._oapi("/topapi/message/corpconversation/asyncsend_v2", body)

    def send_result(self, task_id):
        """What became of a work notification task (DingTalk keeps this for 24 hours): its
        send_result, with the user ids under invalid_user_id_list, forbidden_user_id_list …
        A task id that is not a number, or a send_result that is not an object, is this task's
        WorkAppError."""
        if not (str(task_id).isascii() and str(task_id).isdecimal()):
            raise WorkAppError("-", f"task id {str(task_id)[:40]!r} is not a number")
        answer = self._oapi(
            "/topapi/message/corpconversation/getsendresult", {"agent_id": self.agent_id, "task_id": int(task_id)}
        )
        result = answer.get("send_result") or {}
        if not isinstance(result, dict):
            raise WorkAppError("-", f"send_result is not an object: {str(result)[:200]}")
        return result

    def userid_for_code(self, code):
        """The userid of the person who authorised this sign-in (authCode of login.dingtalk.com)."""
        from alibabacloud_dingtalk.contact_1_0 import models as contact_models
        from alibabacloud_dingtalk.contact_1_0.client import Client as Contact
        from alibabacloud_dingtalk.oauth2_1_0 import models
        from alibabacloud_dingtalk.oauth2_1_0.client import Client as OAuth

        request = models.GetUserTokenRequest(
            client_id=self.app_key, client_secret=self.app_secret, code=code, grant_type="authorization_code"
        )
        user_token = _sdk_call(OAuth(_sdk_config()).get_user_token_with_options, request, {}).body.access_token
        headers = contact_models.GetUserHeaders(x_acs_dingtalk_access_token=user_token)
        me = _sdk_call(Contact(_sdk_config()).get_user_with_options, "me", headers).body
        answer = self._oapi("/topapi/user/getbyunionid", {"unionid": me.union_id})
        return (answer.get("result") or {}).get("userid") or ""


def _check(answer):
    errcode = answer.get("errcode", 0)
    if errcode == 0:
        return
    errmsg = str(answer.get("errmsg", ""))
    if answer.get("sub_code"):
        errmsg = f"{errmsg} (sub_code {answer['sub_code']}: {answer.get('sub_msg', '')})"
    raise_for(
        errcode,
        errmsg,
        token_errors=TOKEN_ERRORS,
        rate_limits=RATE_LIMITS,
        unknown_user=UNKNOWN_USER,
        content_errors=CONTENT_ERRORS,
    )


def authorize_url(*, redirect_uri, state):
    """DingTalk's OAuth 2 page: inside the DingTalk app it knows the person already; it comes back
    to `redirect_uri` with authCode and state."""
    query = urlencode(
        {
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "client_id": settings.DINGTALK_APP_KEY,
            "scope": "openid",
            "state": state,
            "prompt": "consent",
        }
    )
    return f"{settings.DINGTALK_AUTHORIZE_URL}?{query}"
