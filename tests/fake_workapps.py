"""A local stand-in for WeCom (企业微信) and DingTalk (钉钉): a real HTTP server on a loopback port,
in a thread of the test process, answering the endpoints lightboard calls the way their published
documentation describes them, error codes included. Tests point WECOM_API_BASE, DINGTALK_OAPI_BASE,
DINGTALK_API_BASE and the two authorize URLs at it.

What a test can make it do:
- expire every token issued so far (`expire_tokens`): the next call with one answers 42001;
- refuse the next N sends of a channel with its rate-limit code (`rate_limit`);
- know some user ids and not others (an unknown one answers as each service does: WeCom refuses
  the send; DingTalk accepts the task and lists the id under invalid_user_id_list in
  getsendresult, as its documentation describes);
- put a DingTalk person over the per-person daily limit (`cap`, until `uncap`): tasks to them are
  accepted and listed under forbidden_user_id_list (code 143105); or over any forbidden_list code
  for the next N tasks (`forbid`, e.g. 143103: a per-minute limit); or list the next N tasks to
  them under failed_user_id_list (`fail`);
- answer every send of a channel only after `delay(channel, seconds)`;
- have DingTalk not report on its tasks yet (`silent`): getsendresult lists nobody;
- answer the next call of a path with any JSON (`answer_next`), e.g. one that is not an object;
- hold the next send of a channel after taking it (`hold`), as a service that has the message but
  has not answered yet, until the test lets it go (`release`);
- sign a given person in on its authorize page (`signed_in`).

Like the real services it shows a repeated identical message once: WeCom when the request asks
for its duplicate check (the same request JSON within duplicate_check_interval), DingTalk for the
same content to the same person on the same day (its getsendresult then lists the person under
forbidden, code 143106). `sends` logs every send request with its content and whether the person
was shown it."""

import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

WECOM_RATE_LIMIT = 45009
DINGTALK_RATE_LIMIT = 90018


class FakeWorkApps:
    def __init__(self):
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.reset()

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        """A fresh company: new credentials (so no cached token of an earlier test is valid),
        no users, no tokens, nothing logged."""
        with self.lock:
            self.corp_id = "ww" + secrets.token_hex(6)
            self.corp_secret = secrets.token_hex(12)
            self.wecom_agent_id = 1000002
            self.app_key = "ding" + secrets.token_hex(6)
            self.app_secret = secrets.token_hex(12)
            self.dingtalk_agent_id = 2000003
            self.wecom_users = set()
            self.dingtalk_users = {}  # userid -> unionid
            self.tokens = {}  # token -> [channel, expired]
            self.issued = Counter()  # channel -> tokens issued
            self.refuse = Counter()  # channel -> sends still to refuse with the rate-limit code
            self.sends = []
            self.seen_wecom = {}  # request JSON -> time shown
            self.seen_dingtalk = set()  # (userid, msg JSON, day)
            self.holding = {}  # channel -> threading.Event the held request waits on
            self.held = threading.Event()
            self.signed_in = {}  # channel -> the userid the authorize page signs in
            self.codes = {}  # code -> (channel, userid)
            self.user_tokens = {}  # DingTalk user access token -> unionid
            self.forbidden = {}  # DingTalk userid -> [forbidden_list code, tasks left (None: all)]
            self.failing = Counter()  # DingTalk userid -> tasks still to list under failed_user_id_list
            # DingTalk task_id -> (userid, "shown" | "invalid" | "duplicate" | "forbidden" | "failed", code)
            self.tasks = {}
            self.next_task = 1000
            self.delays = {}  # channel -> seconds every send waits before answering
            self.canned = {}  # path -> the JSON the next call answers with
            self.results_asked = []  # task ids asked for with getsendresult
            self.silent = False  # getsendresult lists nobody yet (DingTalk has not processed its tasks)

    def settings(self):
        """The lightboard settings that point both apps at this server."""
        return {
            "WECOM_CORP_ID": self.corp_id,
            "WECOM_AGENT_ID": self.wecom_agent_id,
            "WECOM_SECRET": self.corp_secret,
            "WECOM_API_BASE": self.base,
            "WECOM_AUTHORIZE_URL": f"{self.base}/connect/oauth2/authorize",
            "DINGTALK_APP_KEY": self.app_key,
            "DINGTALK_APP_SECRET": self.app_secret,
            "DINGTALK_AGENT_ID": self.dingtalk_agent_id,
            "DINGTALK_OAPI_BASE": self.base,
            "DINGTALK_API_BASE": self.base,
            "DINGTALK_AUTHORIZE_URL": f"{self.base}/oauth2/auth",
        }

    def environment(self):
        return {name: str(value) for name, value in self.settings().items()}

    # --- what a test changes ---

    def add_users(self, *, wecom=(), dingtalk=()):
        with self.lock:
            self.wecom_users.update(wecom)
            for userid in dingtalk:
                self.dingtalk_users[userid] = f"union-{userid}"

    def expire_tokens(self):
        with self.lock:
            for entry in self.tokens.values():
                entry[1] = True

    def rate_limit(self, channel, count=1):
        with self.lock:
            self.refuse[channel] += count

    def cap(self, userid):
        self.forbid(userid, "143105")

    def uncap(self, userid):
        with self.lock:
            self.forbidden.pop(userid, None)

    def forbid(self, userid, code, count=None):
        """Tasks to this DingTalk person (the next `count`, or all) are listed as forbidden, `code`."""
        with self.lock:
            self.forbidden[userid] = [code, count]

    def fail(self, userid, count=1):
        with self.lock:
            self.failing[userid] += count

    def delay(self, channel, seconds):
        with self.lock:
            self.delays[channel] = seconds

    def answer_next(self, path, payload):
        with self.lock:
            self.canned[path] = payload

    def hold(self, channel):
        """The next send of `channel` is taken (logged, shown) and then not answered until release()."""
        with self.lock:
            self.held.clear()
            self.holding[channel] = threading.Event()

    def release(self):
        with self.lock:
            for event in self.holding.values():
                event.set()
            self.holding = {}

    # --- what a test reads ---

    def sent(self, channel=None):
        with self.lock:
            return [send for send in self.sends if channel is None or send["channel"] == channel]

    def shown(self, channel=None):
        return [send for send in self.sent(channel) if send["shown"]]

    # --- the services ---

    def issue_token(self, channel):
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = [channel, False]
            self.issued[channel] += 1
        return token

    def token_error(self, channel, token):
        """None, or the error code the service gives for this token."""
        with self.lock:
            entry = self.tokens.get(token)
        if entry is None or entry[0] != channel:
            return 40014
        if entry[1]:
            return 42001
        return None

    def take_send(self, channel, userid, body):
        """Log a send that passed the token check; returns the answer's errcode (0, rate limit,
        unknown WeCom user), DingTalk's task id and whether the request is held."""
        with self.lock:
            if self.refuse[channel]:
                self.refuse[channel] -= 1
                code = WECOM_RATE_LIMIT if channel == "wecom" else DINGTALK_RATE_LIMIT
                self.sends.append({"channel": channel, "userid": userid, "body": body, "shown": False, "errcode": code})
                return code, None, None
            task = None
            if channel == "wecom":
                if userid not in self.wecom_users:  # errcode 81013 when no recipient is valid
                    entry = {"channel": channel, "userid": userid, "body": body, "shown": False, "errcode": 81013}
                    self.sends.append(entry)
                    return 81013, None, None
                canonical = json.dumps(body, sort_keys=True, ensure_ascii=False)
                interval = body.get("duplicate_check_interval", 1800)
                last = self.seen_wecom.get(canonical)
                shown = not (body.get("enable_duplicate_check") and last and time.time() - last < interval)
                if shown:
                    self.seen_wecom[canonical] = time.time()
            else:
                # DingTalk accepts the task whatever the user id; what became of it shows in getsendresult.
                self.next_task += 1
                task = self.next_task
                mark = (userid, json.dumps(body["msg"], sort_keys=True, ensure_ascii=False), time.strftime("%Y%m%d"))
                code = ""
                if userid not in self.dingtalk_users:
                    outcome = "invalid"
                elif mark in self.seen_dingtalk:
                    outcome, code = "duplicate", "143106"
                elif userid in self.forbidden:
                    outcome, code = "forbidden", self.forbidden[userid][0]
                    left = self.forbidden[userid][1]
                    if left is not None:
                        if left <= 1:
                            del self.forbidden[userid]
                        else:
                            self.forbidden[userid][1] = left - 1
                elif self.failing[userid]:
                    outcome = "failed"
                    self.failing[userid] -= 1
                else:
                    outcome = "shown"
                    self.seen_dingtalk.add(mark)
                self.tasks[task] = (userid, outcome, code)
                shown = outcome == "shown"
            entry = {"channel": channel, "userid": userid, "body": body, "shown": shown, "errcode": 0, "task_id": task}
            self.sends.append(entry)
            wait = self.holding.pop(channel, None)
            if wait is not None:
                self.held.set()
            return 0, task, wait

    def send_result(self, task):
        """getsendresult's send_result of a task."""
        with self.lock:
            self.results_asked.append(task)
            userid, outcome, code = self.tasks[task]
            if self.silent:
                outcome = "unreported"
        lists = {
            "invalid_user_id_list": [userid] if outcome == "invalid" else [],
            "forbidden_user_id_list": [userid] if outcome in {"duplicate", "forbidden"} else [],
            "failed_user_id_list": [userid] if outcome == "failed" else [],
            "read_user_id_list": [],
            "unread_user_id_list": [userid] if outcome == "shown" else [],
            "invalid_dept_id_list": [],
            "forbidden_list": [],
        }
        if outcome in {"duplicate", "forbidden"}:
            count = {"143106": 1, "143105": 500}.get(code, 5000)
            lists["forbidden_list"] = [{"code": code, "count": count, "userid": userid}]
        return lists

    def authorize(self, channel, query):
        with self.lock:
            userid = self.signed_in.get(channel)
            code = secrets.token_hex(12)
            self.codes[code] = (channel, userid)
        name = "code" if channel == "wecom" else "authCode"
        return f"{query['redirect_uri']}?{urlencode({name: code, 'state': query.get('state', '')})}"

    def use_code(self, channel, code):
        with self.lock:
            found = self.codes.pop(code, None)  # a code is good once
        if found is None or found[0] != channel:
            return None
        return found[1]


def _handler_for(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, payload, status=200):
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def redirect(self, location):
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self):
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if self.canned(url.path):
                return None
            if url.path == "/cgi-bin/gettoken":
                if query.get("corpid") != fake.corp_id or query.get("corpsecret") != fake.corp_secret:
                    return self.answer({"errcode": 40001, "errmsg": "invalid credential"})
                token = fake.issue_token("wecom")
                return self.answer({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})
            if url.path == "/cgi-bin/auth/getuserinfo":
                error = fake.token_error("wecom", query.get("access_token"))
                if error:
                    return self.answer({"errcode": error, "errmsg": "access_token invalid or expired"})
                userid = fake.use_code("wecom", query.get("code", ""))
                if userid is None:
                    return self.answer({"errcode": 40029, "errmsg": "invalid code"})
                return self.answer({"errcode": 0, "errmsg": "ok", "userid": userid, "user_ticket": "t"})
            if url.path == "/connect/oauth2/authorize":
                if query.get("appid") != fake.corp_id or query.get("scope") != "snsapi_base":
                    return self.answer({"errcode": 40013, "errmsg": "invalid corpid"}, status=400)
                return self.redirect(fake.authorize("wecom", query))
            if url.path == "/oauth2/auth":
                if query.get("client_id") != fake.app_key or query.get("response_type") != "code":
                    return self.answer({"code": "invalidClient", "message": "invalid client_id"}, status=400)
                return self.redirect(fake.authorize("dingtalk", query))
            if url.path == "/v1.0/contact/users/me":
                unionid = fake.user_tokens.get(self.headers.get("x-acs-dingtalk-access-token"))
                if unionid is None:
                    return self.answer({"code": "InvalidAuthentication", "message": "bad token"}, status=401)
                return self.answer({"nick": "someone", "unionId": unionid, "openId": "o-" + unionid})
            return self.answer({"errcode": 404, "errmsg": "not found"}, status=404)

        def canned(self, path):
            with fake.lock:
                if path not in fake.canned:
                    return False
                payload = fake.canned.pop(path)
            self.answer(payload)
            return True

        def slow(self, channel):
            with fake.lock:
                seconds = fake.delays.get(channel, 0)
            if seconds:
                time.sleep(seconds)

        def do_POST(self):
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            body = self.body()
            if self.canned(url.path):
                return None
            if url.path == "/cgi-bin/message/send":
                error = fake.token_error("wecom", query.get("access_token"))
                if error:
                    return self.answer({"errcode": error, "errmsg": "access_token invalid or expired"})
                self.slow("wecom")
                code, _task, wait = fake.take_send("wecom", body.get("touser", ""), body)
                if code == 81013:
                    userid = body.get("touser", "").lower()
                    invalid = {"errcode": code, "errmsg": "user & party & tag all invalid", "invaliduser": userid}
                    return self.answer(invalid)
                if code:
                    return self.answer({"errcode": code, "errmsg": "api freq out of limit"})
                if wait is not None:
                    wait.wait(timeout=60)
                return self.answer({"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": secrets.token_hex(8)})
            if url.path == "/topapi/message/corpconversation/asyncsend_v2":
                error = fake.token_error("dingtalk", query.get("access_token"))
                if error:
                    return self.answer({"errcode": error, "errmsg": "不合法的access_token"})
                self.slow("dingtalk")
                code, task, wait = fake.take_send("dingtalk", str(body.get("userid_list", "")), body)
                if code:
                    return self.answer({"errcode": code, "errmsg": "当前企业调用该接口超过限流阈值"})
                if wait is not None:
                    wait.wait(timeout=60)
                return self.answer({"errcode": 0, "errmsg": "ok", "task_id": task, "request_id": "r"})
            if url.path == "/topapi/message/corpconversation/getsendresult":
                error = fake.token_error("dingtalk", query.get("access_token"))
                if error:
                    return self.answer({"errcode": error, "errmsg": "不合法的access_token"})
                if body.get("agent_id") != fake.dingtalk_agent_id or body.get("task_id") not in fake.tasks:
                    return self.answer({"errcode": 400002, "errmsg": "无效的参数"})
                result = fake.send_result(body["task_id"])
                return self.answer({"errcode": 0, "errmsg": "ok", "send_result": result, "request_id": "r"})
            if url.path == "/v1.0/oauth2/accessToken":
                if body.get("appKey") != fake.app_key or body.get("appSecret") != fake.app_secret:
                    return self.answer({"code": "invalidClientIdOrSecret", "message": "无效的应用"}, status=400)
                return self.answer({"accessToken": fake.issue_token("dingtalk"), "expireIn": 7200})
            if url.path == "/v1.0/oauth2/userAccessToken":
                if body.get("clientId") != fake.app_key or body.get("grantType") != "authorization_code":
                    return self.answer({"code": "invalidClient", "message": "bad client"}, status=400)
                userid = fake.use_code("dingtalk", body.get("code", ""))
                if userid is None:
                    return self.answer({"code": "invalidAuthCode", "message": "不存在的临时授权码"}, status=400)
                token = secrets.token_hex(16)
                with fake.lock:
                    fake.user_tokens[token] = fake.dingtalk_users.get(userid, f"union-unknown-{userid}")
                return self.answer({"accessToken": token, "refreshToken": "r", "expireIn": 7200})
            if url.path == "/topapi/user/getbyunionid":
                error = fake.token_error("dingtalk", query.get("access_token"))
                if error:
                    return self.answer({"errcode": error, "errmsg": "不合法的access_token"})
                for userid, unionid in list(fake.dingtalk_users.items()):
                    if unionid == body.get("unionid"):
                        return self.answer(
                            {"errcode": 0, "errmsg": "ok", "result": {"contact_type": 0, "userid": userid}}
                        )
                return self.answer({"errcode": 60121, "errmsg": "找不到该用户"})
            return self.answer({"errcode": 404, "errmsg": "not found"}, status=404)

    return Handler


# --- fixtures (imported by the test modules that use them) ---


@pytest.fixture(scope="module", name="fake_workapps_server")
def fake_workapps_server_fixture():
    server = FakeWorkApps().start()
    yield server
    server.stop()


@pytest.fixture(name="workapps")
def workapps_fixture(fake_workapps_server, settings):
    """Both apps configured and pointed at the fake server, which starts the test afresh."""
    fake_workapps_server.reset()
    for name, value in fake_workapps_server.settings().items():
        setattr(settings, name, value)
    settings.WORKAPPS_SIGNIN = True
    yield fake_workapps_server
    fake_workapps_server.release()
