"""Users change their own password with Django's validators; an administrator resets anyone's in
the admin; passwords are hashed with Argon2, and older PBKDF2 hashes are upgraded at sign-in."""

import re

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from django.test import override_settings

from lightboard import settings as project_settings
from lightboard.roles import Role
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

URL = "/accounts/password_change/"
NEW = "Lantern-Harbour-2026"


def change(client, old, new, confirmation=None):
    return client.post(URL, {"old_password": old, "new_password1": new, "new_password2": confirmation or new})


def field_errors(response, name):
    """The error messages shown inside the field's own block of the form."""
    html = response.content.decode()
    block = re.search(rf'<div class="field field-{name}">(.*?)</div>\s*(?=<div class="field|<button)', html, re.S)
    assert block, f"no field {name} on the page"
    return re.findall(r'<p class="field-error">(.*?)</p>', block.group(1))


def sign_in(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/accounts/password_change/"


def test_the_header_links_signed_in_users_to_the_form_in_chinese(client, staff_a):
    client.force_login(staff_a)
    html = client.get("/tasks/mine/").content.decode()
    assert f'<a class="account-link" href="{URL}">修改密码</a>' in html
    page = client.get(URL).content.decode()
    assert "<h1>修改密码</h1>" in page
    assert "旧密码" in page and "新密码确认" in page
    # Django's rules for a new password are shown beside it.
    assert "你的密码必须包含至少 8 个字符。" in page


def test_a_wrong_old_password_is_refused_next_to_that_field(client, staff_a):
    client.force_login(staff_a)
    response = change(client, "not-my-password", NEW)
    assert response.status_code == 200
    assert field_errors(response, "old_password") == ["你的旧密码不正确。请重新输入。"]
    staff_a.refresh_from_db()
    assert staff_a.check_password("pw")


@pytest.mark.parametrize(
    "new, message",
    [
        ("Lt-26", "密码长度太短。密码必须包含至少 8 个字符。"),
        ("password", "这个密码太常见了。"),
        ("73920184", "密码只包含数字。"),
    ],
)
def test_a_weak_new_password_is_refused_with_django_validators(client, staff_a, new, message):
    client.force_login(staff_a)
    response = change(client, "pw", new)
    assert response.status_code == 200
    assert message in field_errors(response, "new_password2")
    staff_a.refresh_from_db()
    assert staff_a.check_password("pw")


def test_the_confirmation_must_match(client, staff_a):
    client.force_login(staff_a)
    response = change(client, "pw", NEW, confirmation=NEW + "x")
    assert field_errors(response, "new_password2") == ["输入的两个密码不一致。"]


def test_a_changed_password_signs_in_and_the_old_one_no_longer_does(client, staff_a):
    client.force_login(staff_a)
    response = change(client, "pw", NEW)
    assert response.status_code == 302 and response.url == "/accounts/password_change/done/"
    done = client.get(response.url)
    assert done.status_code == 200 and "密码已修改" in done.content.decode()
    # Still signed in in this browser after the change.
    assert client.get("/tasks/mine/").status_code == 200
    client.post("/accounts/logout/")
    assert sign_in(client, "staff_a", "pw").status_code == 200
    assert sign_in(client, "staff_a", NEW).status_code == 302


def test_other_browsers_signed_in_as_the_user_are_signed_out(client, staff_a, django_user_model):
    from django.test import Client

    elsewhere = Client()
    elsewhere.force_login(staff_a)
    client.force_login(staff_a)
    change(client, "pw", NEW)
    assert elsewhere.get("/tasks/mine/").status_code == 302


# --- an administrator resets a password in the admin ---------------------------------------


@pytest.fixture
def office_admin(db):
    """An administrator by role only: not a Django superuser, no ticked permissions."""
    return make_user("office_admin", Role.ADMINISTRATOR)


def test_an_administrator_resets_another_users_password_in_the_admin(client, office_admin, staff_a):
    client.force_login(office_admin)
    change_page = client.get(f"/admin/tasks/user/{staff_a.pk}/change/").content.decode()
    assert "../password/" in change_page
    url = f"/admin/tasks/user/{staff_a.pk}/password/"
    assert client.get(url).status_code == 200
    weak = client.post(url, {"usable_password": "true", "password1": "Lt-26", "password2": "Lt-26"})
    assert weak.status_code == 200 and "密码长度太短" in weak.content.decode()
    response = client.post(url, {"usable_password": "true", "password1": NEW, "password2": NEW})
    assert response.status_code == 302 and response.url == f"/admin/tasks/user/{staff_a.pk}/change/"
    staff_a.refresh_from_db()
    assert staff_a.check_password(NEW)
    client.logout()
    assert sign_in(client, "staff_a", NEW).status_code == 302


def test_other_roles_cannot_reset_passwords_in_the_admin(client, leader_a, staff_a):
    client.force_login(leader_a)
    response = client.post(
        f"/admin/tasks/user/{staff_a.pk}/password/", {"usable_password": "true", "password1": NEW, "password2": NEW}
    )
    assert response.status_code == 302 and response.url.startswith("/admin/login/")
    staff_a.refresh_from_db()
    assert staff_a.check_password("pw")


# --- hashing --------------------------------------------------------------------------------
# tests/conftest.py hashes with MD5 for speed; these tests put the project's own list back.


def test_passwords_are_hashed_with_argon2id_at_owasp_parameters_first():
    assert project_settings.PASSWORD_HASHERS[0] == "lightboard.hashers.Argon2idPasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in project_settings.PASSWORD_HASHERS
    with override_settings(PASSWORD_HASHERS=project_settings.PASSWORD_HASHERS):
        encoded = make_password("correct horse")
    # OWASP's Password Storage Cheat Sheet: Argon2id, at least 19 MiB, 2 iterations, 1 lane.
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_a_hash_with_djangos_default_argon2_parameters_signs_in_and_is_rehashed(client, staff_a, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    staff_a.password = Argon2PasswordHasher().encode("pw", Argon2PasswordHasher().salt())
    staff_a.save(update_fields=["password"])
    assert "$m=102400,t=2,p=8$" in staff_a.password
    assert sign_in(client, "staff_a", "pw").status_code == 302
    staff_a.refresh_from_db()
    assert "$m=19456,t=2,p=1$" in staff_a.password
    assert staff_a.check_password("pw")


def test_a_changed_password_is_stored_as_an_argon2_hash(client, staff_a, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    staff_a.password = make_password("pw", hasher="pbkdf2_sha256")
    staff_a.save(update_fields=["password"])
    client.force_login(staff_a)
    assert change(client, "pw", NEW).status_code == 302
    staff_a.refresh_from_db()
    assert staff_a.password.startswith("argon2$argon2id$")
    assert staff_a.check_password(NEW)


def test_an_old_pbkdf2_hash_still_signs_in_and_is_upgraded_to_argon2(client, staff_a, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    staff_a.password = make_password("pw", hasher="pbkdf2_sha256")
    staff_a.save(update_fields=["password"])
    assert sign_in(client, "staff_a", "pw").status_code == 302
    staff_a.refresh_from_db()
    assert staff_a.password.startswith("argon2$")
