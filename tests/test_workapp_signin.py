"""Signing in from inside WeCom and DingTalk, through each app's OAuth code flow, against the
local stand-in of both services (tests/fake_workapps.py). The Django test client follows the
redirects out to the stand-in's authorize page and back (the test client cannot leave the site,
so the hop to the stand-in is made with requests)."""

import pytest
import requests
from django.conf import settings
from django.utils import translation

from tests.conftest import make_user
from tests.fake_workapps import fake_workapps_server_fixture, workapps_fixture  # noqa: F401 - fixtures


def zh(msgid):
    """A message as the (Chinese) interface shows it; the catalogue is merged by the lead."""
    with translation.override("zh-hans"):
        return translation.gettext(msgid)


def reason(key):
    """Why a sign-in was refused, as the page says it."""
    from workapps.views import REASONS

    with translation.override("zh-hans"):
        return REASONS[key]()


@pytest.fixture
def zhang(db, workapps):
    workapps.add_users(wecom=["wx-zhang"], dingtalk=["dd-zhang"])
    return make_user("zhang", name="张三", wecom_userid="wx-zhang", dingtalk_userid="dd-zhang")


def to_the_app(client, channel, next_path="/inbox/"):
    """Open the sign-in entry; returns the address of the app's authorize page."""
    response = client.get(f"/accounts/workapps/{channel}/start/", {"next": next_path})
    assert response.status_code == 302
    return response["Location"]


def back_from_the_app(authorize_url):
    """The app's authorize page sends the person back to lightboard: returns the callback path."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(settings.SITE_URL.rstrip("/") + "/accounts/workapps/")
    return location[len(settings.SITE_URL.rstrip("/")) :]


def signed_in_user(client):
    return client.session.get("_auth_user_id")


@pytest.mark.parametrize("channel", ["wecom", "dingtalk"])
def test_the_app_signs_in_the_right_person_who_lands_on_the_page(client, zhang, workapps, channel):
    make_user("li", wecom_userid="wx-li", dingtalk_userid="dd-li")
    workapps.signed_in[channel] = f"{'wx' if channel == 'wecom' else 'dd'}-zhang"

    authorize = to_the_app(client, channel, "/inbox/")
    assert authorize.startswith(workapps.base)
    if channel == "wecom":
        assert f"appid={workapps.corp_id}" in authorize and "scope=snsapi_base" in authorize
        assert authorize.endswith("#wechat_redirect")
    else:
        assert f"client_id={workapps.app_key}" in authorize and "prompt=consent" in authorize
    before = client.session.session_key
    response = client.get(back_from_the_app(authorize))

    assert response.status_code == 302 and response["Location"] == "/inbox/"
    assert signed_in_user(client) == str(zhang.pk)
    assert client.session.session_key != before, "a new session: no fixation"
    assert client.get("/inbox/").status_code == 200


def test_a_callback_with_another_state_is_refused(client, zhang, workapps):
    workapps.signed_in["wecom"] = "wx-zhang"
    callback = back_from_the_app(to_the_app(client, "wecom"))
    forged = callback.replace("state=", "state=0")

    response = client.get(forged)

    assert response.status_code == 400 and reason("state") in response.content.decode()
    assert signed_in_user(client) is None
    assert client.get(callback).status_code == 400, "the attempt is used up: a refused one is not retried"


def test_a_callback_this_browser_did_not_start_is_refused(client, zhang, workapps):
    """Login CSRF: someone sends the victim a callback link carrying the attacker's own code."""
    attacker = client.__class__()
    workapps.signed_in["dingtalk"] = "dd-zhang"
    callback = back_from_the_app(to_the_app(attacker, "dingtalk"))

    assert client.get(callback).status_code == 400
    assert signed_in_user(client) is None


@pytest.mark.parametrize("channel", ["wecom", "dingtalk"])
def test_an_app_user_without_a_lightboard_account_is_told_so_and_not_signed_in(client, zhang, workapps, channel):
    workapps.add_users(wecom=["wx-guest"], dingtalk=["dd-guest"])
    workapps.signed_in[channel] = "wx-guest" if channel == "wecom" else "dd-guest"

    response = client.get(back_from_the_app(to_the_app(client, channel)))

    assert response.status_code == 403
    html = response.content.decode()
    assert reason("unknown") in html and zh("Sign in with username and password") in html
    assert signed_in_user(client) is None


def test_a_disabled_account_is_not_signed_in(client, zhang, workapps):
    zhang.is_active = False
    zhang.save()
    workapps.signed_in["wecom"] = "wx-zhang"

    response = client.get(back_from_the_app(to_the_app(client, "wecom")))

    assert response.status_code == 403 and reason("inactive") in response.content.decode()
    assert signed_in_user(client) is None


def test_the_page_to_land_on_is_a_path_of_this_site_only(client, zhang, workapps):
    workapps.signed_in["wecom"] = "wx-zhang"
    for outside in ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]:
        client.logout()
        response = client.get(back_from_the_app(to_the_app(client, "wecom", outside)))
        assert response.status_code == 302 and response["Location"] == "/", outside


def test_someone_already_signed_in_goes_straight_to_the_page(client, zhang, workapps):
    client.force_login(zhang)
    response = client.get("/accounts/workapps/dingtalk/start/", {"next": "/tasks/mine/"})
    assert response.status_code == 302 and response["Location"] == "/tasks/mine/"


def test_the_login_page_offers_the_configured_apps_and_goes_straight_in_inside_an_app(client, zhang, workapps):
    page = client.get("/accounts/login/", {"next": "/inbox/"}).content.decode()
    assert zh("Sign in with WeCom") in page and zh("Sign in with DingTalk") in page
    assert "/accounts/workapps/wecom/start/?next=%2Finbox%2F" in page
    assert 'http-equiv="refresh"' not in page

    inside = client.get("/accounts/login/", {"next": "/inbox/"}, HTTP_USER_AGENT="Mozilla/5.0 wxwork/4.1.20")
    assert 'http-equiv="refresh" content="0;url=/accounts/workapps/wecom/start/?next=%2Finbox%2F"' in (
        inside.content.decode()
    )
    dingtalk = client.get("/accounts/login/", HTTP_USER_AGENT="Mozilla/5.0 AliApp(DingTalk/7.0.40)")
    assert "url=/accounts/workapps/dingtalk/start/" in dingtalk.content.decode()
    asked = client.get("/accounts/login/", {"password": "1"}, HTTP_USER_AGENT="wxwork/4.1")
    assert 'http-equiv="refresh"' not in asked.content.decode(), "the password form when asked for"


def test_with_no_app_configured_there_are_no_buttons_and_the_addresses_do_not_exist(client, zhang, settings):
    settings.WECOM_CORP_ID = settings.DINGTALK_APP_KEY = ""
    page = client.get("/accounts/login/", HTTP_USER_AGENT="wxwork/4.1").content.decode()
    assert zh("Sign in with WeCom") not in page and zh("Sign in with DingTalk") not in page
    assert 'http-equiv="refresh"' not in page
    for channel in ["wecom", "dingtalk", "other"]:
        assert client.get(f"/accounts/workapps/{channel}/start/").status_code == 404
        assert client.get(f"/accounts/workapps/{channel}/callback/?code=x&state=y").status_code == 404


def test_an_unreachable_app_gives_a_clear_page_not_an_error(client, zhang, workapps, settings):
    workapps.signed_in["wecom"] = "wx-zhang"
    callback = back_from_the_app(to_the_app(client, "wecom"))
    settings.WECOM_API_BASE = "http://127.0.0.1:1"

    response = client.get(callback)

    assert response.status_code == 502 and reason("service") in response.content.decode()
    assert signed_in_user(client) is None


def test_an_answer_that_is_json_but_not_an_object_gives_the_clear_page(client, zhang, workapps):
    workapps.signed_in["wecom"] = "wx-zhang"
    callback = back_from_the_app(to_the_app(client, "wecom"))
    workapps.answer_next("/cgi-bin/auth/getuserinfo", ["not", "an", "object"])

    response = client.get(callback)

    assert response.status_code == 502 and reason("service") in response.content.decode()
    assert signed_in_user(client) is None


def test_a_wecom_user_id_matches_whatever_its_case(client, zhang, workapps):
    """WeCom user ids are case-insensitive: the app may answer with another spelling."""
    workapps.signed_in["wecom"] = "WX-Zhang"

    response = client.get(back_from_the_app(to_the_app(client, "wecom")))

    assert response.status_code == 302 and signed_in_user(client) == str(zhang.pk)


def test_a_receiver_of_signing_in_may_refuse_with_its_reason(client, zhang, workapps):
    from workapps.signin import SignInRefused, signing_in

    seen = []

    def refuse(sender, *, user, **kwargs):
        seen.append((sender, user.username))
        raise SignInRefused("已在目录中停用")

    signing_in.connect(refuse, dispatch_uid="test-refuse")
    try:
        workapps.signed_in["dingtalk"] = "dd-zhang"
        response = client.get(back_from_the_app(to_the_app(client, "dingtalk")))
    finally:
        signing_in.disconnect(dispatch_uid="test-refuse")

    assert seen == [("dingtalk", "zhang")]
    assert response.status_code == 403 and "已在目录中停用" in response.content.decode()
    assert signed_in_user(client) is None


LINKS = ["/tasks/5/#comment-5", "/tasks/5/?thread=2#comment-5"]


@pytest.mark.parametrize("link", LINKS)
def test_a_message_link_with_a_fragment_keeps_it_and_carries_its_token_in_the_query(
    client, zhang, workapps, settings, link
):
    """Without app sign-in the button opens the page: `m=` goes into its query, before the
    #fragment. With it, the page (query and fragment) is the entry's `next`, and the person,
    signed in, lands on it whole."""
    from urllib.parse import parse_qs, urlsplit

    from workapps.signin import message_url

    page = urlsplit(link)
    settings.WORKAPPS_SIGNIN = False
    direct = urlsplit(message_url("wecom", link, "0123abcd4567"))
    assert (direct.path, direct.fragment) == (page.path, "comment-5")
    assert parse_qs(direct.query) == parse_qs(page.query) | {"m": ["0123abcd4567"]}

    settings.WORKAPPS_SIGNIN = True
    for channel in ("wecom", "dingtalk"):
        entry = urlsplit(message_url(channel, link, "0123abcd4567"))
        assert entry.path == f"/accounts/workapps/{channel}/start/" and entry.fragment == ""
        assert parse_qs(entry.query) == {"next": [link], "m": ["0123abcd4567"]}

    workapps.signed_in["dingtalk"] = "dd-zhang"
    entry = urlsplit(message_url("dingtalk", link, "0123abcd4567"))
    authorize = client.get(f"{entry.path}?{entry.query}")["Location"]
    response = client.get(back_from_the_app(authorize))
    assert response.status_code == 302 and response["Location"] == link
    assert signed_in_user(client) == str(zhang.pk)


def test_a_receiver_of_signing_in_that_breaks_gives_the_service_page_not_an_error(client, zhang, workapps, caplog):
    from workapps.signin import signing_in

    def broken(sender, *, user, **kwargs):
        raise RuntimeError("the directory answered something new")

    signing_in.connect(broken, dispatch_uid="test-broken")
    try:
        workapps.signed_in["wecom"] = "wx-zhang"
        response = client.get(back_from_the_app(to_the_app(client, "wecom")))
    finally:
        signing_in.disconnect(dispatch_uid="test-broken")

    assert response.status_code == 502 and reason("service") in response.content.decode()
    assert signed_in_user(client) is None
    assert "the directory answered something new" in caplog.text, "logged with its traceback"
