"""Signing in and out, the language switcher, and htmx served locally with CSRF."""

import re

import pytest
from django.contrib.auth.models import Group
from django.contrib.staticfiles import finders

from lightboard.roles import Role

pytestmark = pytest.mark.django_db


def test_login_page_is_in_chinese_by_default_even_for_an_english_browser(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert "登录" in html


def test_sign_in_with_the_right_password_goes_to_the_main_screen(client, staff_a):
    response = client.post("/accounts/login/", {"username": "staff_a", "password": "pw"}, follow=True)
    assert response.redirect_chain[-1][0] == "/tasks/mine/"


def test_wrong_password_is_told_next_to_the_form_and_signs_nobody_in(client, staff_a):
    response = client.post("/accounts/login/", {"username": "staff_a", "password": "wrong"})
    assert response.status_code == 200
    assert 'class="form-error"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_out_is_a_post_and_ends_the_session(client, staff_a):
    client.force_login(staff_a)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_switching_to_english_shows_the_same_page_in_english(client, staff_a):
    client.force_login(staff_a)
    chinese = client.get("/tasks/mine/").content.decode()
    assert "我的任务" in chinese
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/tasks/mine/"})
    assert response.status_code == 302 and response.url == "/tasks/mine/"
    english = client.get("/tasks/mine/").content.decode()
    assert '<html lang="en">' in english
    assert "My tasks" in english and "我的任务" not in english.split("<main")[1]
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/tasks/mine/"})
    assert "我的任务" in client.get("/tasks/mine/").content.decode()


def test_htmx_is_served_from_static_and_every_htmx_request_carries_the_csrf_token(client, staff_a):
    client.force_login(staff_a)
    html = client.get("/tasks/mine/").content.decode()
    script = re.search(r'<script src="([^"]+htmx[^"]+)"', html).group(1)
    assert script.startswith("/static/")
    assert finders.find(script.removeprefix("/static/"))
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", html).group(1)
    assert len(token) >= 32
    # No inline scripts, so a strict Content-Security-Policy can forbid them.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_static_files_are_served_without_a_cdn(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert b"--green" in b"".join(response.streaming_content)


def test_role_groups_exist_for_every_role():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_colour_names_are_the_conventional_chinese_terms():
    from lightboard.colour import Colour

    assert [c.label_zh for c in Colour] == ["绿灯", "黄灯", "红灯"]


def test_pages_carry_a_strict_content_security_policy(client, staff_a):
    client.force_login(staff_a)
    policy = client.get("/tasks/mine/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_the_admin_is_in_chinese_including_sign_in_throttling(client, administrator):
    client.post("/accounts/login/", {"username": "somebody", "password": "wrong"})
    client.force_login(administrator)
    html = client.get("/admin/").content.decode()
    assert "<title>站点管理 | 亮灯考核管理后台</title>" in html
    assert '<div id="site-name"><a href="/admin/">亮灯考核管理后台</a></div>' in html
    assert "登录保护" in html and "登录失败记录" in html and "登录日志" in html
    for english in ("lightboard", "Axes", "Access attempts", "Access logs", "Access failures"):
        assert f">{english}<" not in html
    attempts = client.get("/admin/axes/accessattempt/").content.decode()
    assert "IP 地址" in attempts and "失败次数" in attempts and "已锁定" in attempts


def test_every_page_names_its_icon_so_browsers_ask_for_no_missing_favicon(client):
    html = client.get("/accounts/login/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
    response = client.get(icon)
    assert response.status_code == 200 and b"<svg" in b"".join(response.streaming_content)
