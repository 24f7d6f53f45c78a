"""Directory sign-in against a real OpenLDAP server (tests/ldap_fixtures.py), through the login
form as a person signs in; and the SSO gateway, which believes its header only from the
trusted proxy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.urls import reverse

from directory.models import DirectoryGroupMapping
from lightboard.roles import Role, roles_of
from tasks.models import AuditEntry, Department, User
from tests.conftest import make_user
from tests.ldap_fixtures import (  # noqa: F401 - fixtures
    DISABLED_GROUP,
    LEADER_GROUP,
    STAFF_GROUP,
    directory,
    map_groups,
    slapd,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def sign_in(client, username, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, follow=True, REMOTE_ADDR=address)


def signed_in(client):
    return client.session.get("_auth_user_id")


def page_text(response):
    return response.content.decode()


@pytest.fixture
def production(db):
    return Department.objects.create(code="SCYY", name="生产运营部")


@pytest.fixture
def mapped(directory, production):  # noqa: F811
    map_groups(department=production)
    return directory


# --- password sign-in ---------------------------------------------------------------------


def test_a_directory_password_signs_in_and_the_user_follows_the_directory(client, mapped):
    response = sign_in(client, "ZhangSan", "zs-secret")

    user = User.objects.get(username="zhangsan")
    assert signed_in(client) == str(user.pk)
    # Staff land on their tasks, their name in the page.
    assert response.redirect_chain[-1][0] == reverse("tasks:mine")
    assert "张三" in page_text(response)
    assert user.directory_id == mapped.entry_uuid("uid=zhangsan,ou=people,dc=example,dc=cn")
    assert not user.has_usable_password()
    assert (user.name, user.email) == ("张三", "zhangsan@example.cn")
    assert (user.wecom_userid, user.dingtalk_userid) == ("ZS001", "dt-zhangsan")
    assert roles_of(user) == {Role.STAFF}
    assert [d.code for d in user.departments.all()] == ["SCYY"]
    assert AuditEntry.objects.filter(subject_type="user", subject_id=user.pk, action="directory: create user").exists()


def test_a_wrong_password_shows_the_form_error_and_creates_nobody(client, mapped):
    response = sign_in(client, "zhangsan", "not-the-password")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert 'class="form-error"' in page_text(response)
    assert not signed_in(client)
    assert not User.objects.filter(username="zhangsan").exists()
    # django-axes counted it, as for a local account.
    assert AccessAttempt.objects.filter(username="zhangsan").exists()


def test_repeated_wrong_directory_passwords_are_throttled(client, mapped):
    for _ in range(5):
        sign_in(client, "zhangsan", "guess")
    response = sign_in(client, "zhangsan", "zs-secret")
    assert response.status_code == 429
    assert not signed_in(client)


def test_a_disabled_directory_account_is_refused_and_its_user_made_inactive(client, mapped):
    sign_in(client, "wangwu", "ww-secret")
    wangwu = User.objects.get(username="wangwu")
    assert signed_in(client) == str(wangwu.pk)
    client.logout()

    # The directory disables 王五 (the configured "disabled" group).
    mapped.add_member(DISABLED_GROUP, "wangwu")
    response = sign_in(client, "wangwu", "ww-secret")

    assert response.context["form"].non_field_errors()
    assert not signed_in(client)
    wangwu.refresh_from_db()
    assert not wangwu.is_active
    assert AuditEntry.objects.filter(subject_id=wangwu.pk, action="directory: deactivate user").exists()
    assert wangwu.deactivated_by == User.DeactivatedBy.DIRECTORY

    # Enabled again in the directory: the directory undoes its own deactivation.
    mapped.remove_member(DISABLED_GROUP, "wangwu")
    sign_in(client, "wangwu", "ww-secret")
    assert signed_in(client) == str(wangwu.pk)
    wangwu.refresh_from_db()
    assert wangwu.is_active and wangwu.deactivated_by == ""


def test_a_session_ends_when_the_directory_disables_the_account(client, mapped):
    sign_in(client, "wangwu", "ww-secret")
    assert client.get(reverse("tasks:mine")).status_code == 200
    mapped.add_member(DISABLED_GROUP, "wangwu")
    sign_in(client.__class__(), "wangwu", "ww-secret")  # from another browser: refused, made inactive
    assert client.get(reverse("tasks:mine")).status_code == 302


def test_an_account_matching_the_disabled_filter_is_refused_and_never_created(client, mapped):
    response = sign_in(client, "zhaoliu", "zl-secret")  # employeeType=left
    assert response.context["form"].non_field_errors()
    assert not signed_in(client)
    assert not User.objects.filter(username="zhaoliu").exists()


def test_roles_follow_the_groups_at_the_next_sign_in(client, mapped):
    sign_in(client, "lisi", "ls-secret")
    lisi = User.objects.get(username="lisi")
    assert roles_of(lisi) == {Role.DIVISION_LEADER}
    client.logout()

    # Since last time: 李四 left the leaders and joined the staff group.
    mapped.remove_member(LEADER_GROUP, "lisi")
    mapped.add_member(STAFF_GROUP, "lisi")
    response = sign_in(client, "lisi", "ls-secret")

    assert signed_in(client) == str(lisi.pk)
    assert response.redirect_chain[-1][0] == reverse("tasks:mine")
    assert roles_of(User.objects.get(pk=lisi.pk)) == {Role.STAFF}
    change = AuditEntry.objects.get(subject_id=lisi.pk, action="directory: change user")
    assert (change.before["roles"], change.after["roles"]) == ([Role.DIVISION_LEADER], [Role.STAFF])


def test_unit_follows_the_mapping(client, mapped):
    east = Department.objects.create(code="HD", name="华东子公司", kind=Department.Kind.SUBSIDIARY)
    DirectoryGroupMapping.objects.filter(group_dn=LEADER_GROUP.lower()).update(unit=east)
    sign_in(client, "lisi", "ls-secret")
    assert User.objects.get(username="lisi").unit == east


def test_a_local_account_signs_in_with_its_own_password_and_the_directory_never_takes_it_over(client, mapped):
    admin = make_user("admin", Role.ADMINISTRATOR)
    admin.set_password("local-pw")
    admin.save()

    # The directory's "admin" entry and its password do not open the local account...
    response = sign_in(client, "admin", "directory-admin")
    assert response.context["form"].non_field_errors()
    assert not signed_in(client)
    # ...the local password does, and the account is as it was.
    sign_in(client, "admin", "local-pw")
    assert signed_in(client) == str(admin.pk)
    admin.refresh_from_db()
    assert admin.directory_id == "" and admin.has_usable_password()
    assert roles_of(admin) == {Role.ADMINISTRATOR}
    assert User.objects.count() == 1


def test_roles_outside_lightboards_own_are_left_alone(client, mapped):
    sign_in(client, "zhangsan", "zs-secret")
    user = User.objects.get(username="zhangsan")
    user.groups.add(Group.objects.create(name="newsletter"))
    client.logout()
    sign_in(client, "zhangsan", "zs-secret")
    assert set(user.groups.values_list("name", flat=True)) == {"newsletter", Role.STAFF}


def change_in_the_admin(client, user, *, is_active):
    """An administrator saves the user's page in the admin, (un)ticking "active". The page was
    opened when the user was as `user` has them: it carries the box as it showed it then."""
    data = {
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "groups": list(user.groups.values_list("pk", flat=True)),
        "date_joined_0": user.date_joined.date().isoformat(),
        "date_joined_1": "08:00:00",
        "initial-is_active": str(user.is_active),
    }
    if is_active:
        data["is_active"] = "on"
    response = client.post(reverse("admin:tasks_user_change", args=[user.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_an_administrators_deactivation_holds_at_the_next_directory_sign_in(client, mapped, administrator):
    sign_in(client, "lisi", "ls-secret")
    lisi = User.objects.get(username="lisi")
    client.logout()
    admin = client.__class__()
    admin.force_login(administrator)

    # An administrator suspends 李四 in lightboard; the directory still has him enabled.
    change_in_the_admin(admin, lisi, is_active=False)
    lisi.refresh_from_db()
    assert not lisi.is_active and lisi.deactivated_by == User.DeactivatedBy.ADMINISTRATOR
    entry = AuditEntry.objects.get(subject_type="user", subject_id=lisi.pk, action="deactivate user")
    assert entry.actor == administrator
    assert (entry.before, entry.after) == (
        {"is_active": True, "deactivated_by": ""}, {"is_active": False, "deactivated_by": "administrator"},
    )  # fmt: skip

    # His directory password does not bring him back.
    response = sign_in(client, "lisi", "ls-secret")
    assert response.context["form"].non_field_errors()
    assert not signed_in(client)
    lisi.refresh_from_db()
    assert not lisi.is_active and lisi.deactivated_by == User.DeactivatedBy.ADMINISTRATOR
    assert not AuditEntry.objects.filter(subject_id=lisi.pk, action="directory: change user").exists()

    # Ticked active again by an administrator: he signs in, and the directory has the say again.
    change_in_the_admin(admin, lisi, is_active=True)
    lisi.refresh_from_db()
    assert lisi.is_active and lisi.deactivated_by == ""
    assert AuditEntry.objects.filter(subject_id=lisi.pk, action="activate user", actor=administrator).exists()
    sign_in(client, "lisi", "ls-secret")
    assert signed_in(client) == str(lisi.pk)


def directory_user(username):
    """A user the directory made (no directory needed to say so)."""
    user = make_user(username)
    User.objects.filter(pk=user.pk).update(directory_id=f"entry-{username}")
    user.refresh_from_db()
    return user


def test_a_page_opened_before_the_sync_deactivated_the_user_does_not_lift_that(client, administrator):
    lisi = directory_user("lisi")
    client.force_login(administrator)
    page = client.get(reverse("admin:tasks_user_change", args=[lisi.pk]))
    assert 'name="initial-is_active" value="True"' in page_text(page)  # the box as the page shows it

    # Meanwhile the sync deactivates him (his entry left the directory)...
    User.objects.filter(pk=lisi.pk).update(is_active=False, deactivated_by=User.DeactivatedBy.DIRECTORY)
    # ...and the administrator saves the page, opened before, for his name.
    lisi.name = "李四（已调离）"
    change_in_the_admin(client, lisi, is_active=True)

    lisi.refresh_from_db()
    assert lisi.name == "李四（已调离）"
    assert not lisi.is_active and lisi.deactivated_by == User.DeactivatedBy.DIRECTORY
    assert not AuditEntry.objects.filter(subject_id=lisi.pk, action="activate user").exists()


def test_an_administrator_makes_a_directory_deactivation_their_own(client, administrator):
    lisi, wangwu = directory_user("lisi"), directory_user("wangwu")
    User.objects.filter(pk=lisi.pk).update(is_active=False, deactivated_by=User.DeactivatedBy.DIRECTORY)
    client.force_login(administrator)

    response = client.post(
        reverse("admin:tasks_user_changelist"),
        {"action": "suspend", "_selected_action": [lisi.pk, wangwu.pk, administrator.pk]},
        follow=True,
    )

    assert "已停用 2 个用户" in page_text(response)
    # The administrator ticked their own account too ("select all"): it stays active.
    assert "您自己的账号未停用" in page_text(response)
    administrator.refresh_from_db()
    assert administrator.is_active
    for user, was_active, was_by in ((lisi, False, "directory"), (wangwu, True, "")):
        user.refresh_from_db()
        assert not user.is_active and user.deactivated_by == User.DeactivatedBy.ADMINISTRATOR
        entry = AuditEntry.objects.get(subject_type="user", subject_id=user.pk, action="deactivate user")
        assert entry.actor == administrator
        assert entry.before == {"is_active": was_active, "deactivated_by": was_by}


def test_the_admin_changes_active_only_through_the_service(rf, administrator):
    """set_user_active is the one way "active" changes in the admin: the change page's box
    (save_model) and the suspend action call it; nothing else may change the field."""
    from django.contrib.admin import site

    user_admin = site._registry[User]
    request = rf.get("/")
    request.user = administrator
    assert not user_admin.list_editable
    assert set(user_admin.get_actions(request)) == {"delete_selected", "suspend"}


def test_an_administrators_deactivation_in_the_sign_in_gap_holds(client, mapped, monkeypatch):
    """django-auth-ldap saves the user again after follow_directory's transaction: an
    administrator's deactivation committed in between is not written over."""
    from directory import backends

    follow_directory = backends.services.follow_directory

    def then_an_administrator_deactivates(**kwargs):
        followed = follow_directory(**kwargs)
        User.objects.filter(pk=followed.user.pk).update(
            is_active=False, deactivated_by=User.DeactivatedBy.ADMINISTRATOR
        )
        return followed

    monkeypatch.setattr(backends.services, "follow_directory", then_an_administrator_deactivates)
    sign_in(client, "lisi", "ls-secret")

    lisi = User.objects.get(username="lisi")
    assert not lisi.is_active and lisi.deactivated_by == User.DeactivatedBy.ADMINISTRATOR
    assert lisi.last_login is not None  # the sign-in's own save of its field went through
    assert client.get(reverse("tasks:mine")).status_code == 302  # the session ends at once
    # Nor does the SSO gateway's way in (populate_user) write it over.
    User.objects.filter(pk=lisi.pk).update(is_active=True, deactivated_by="")
    backends.DirectoryBackend().populate_user("lisi")
    lisi.refresh_from_db()
    assert not lisi.is_active and lisi.deactivated_by == User.DeactivatedBy.ADMINISTRATOR


def test_a_new_entry_given_a_leavers_username_does_not_take_over_their_account(client, mapped, caplog):
    sign_in(client, "lisi", "ls-secret")
    lisi = User.objects.get(username="lisi")
    old_id = lisi.directory_id
    client.logout()

    # 李四's entry is renamed; a different person is given the username lisi.
    mapped.rename("lisi", "lisi2")
    mapped.add(
        "uid=lisi,ou=people,dc=example,dc=cn",
        objectClass="inetOrgPerson",
        uid="lisi",
        cn="李思",
        sn="李",
        userPassword="new-secret",
    )
    response = sign_in(client, "lisi", "new-secret")

    assert response.context["form"].non_field_errors()
    assert not signed_in(client)
    lisi.refresh_from_db()
    assert (lisi.username, lisi.name, lisi.directory_id, lisi.is_active) == ("lisi", "李四", old_id, True)
    assert User.objects.filter(directory_id__gt="").count() == 1
    # The administrators read why in the log.
    assert any(r.levelname == "WARNING" and "lisi" in r.getMessage() for r in caplog.records)

    # 李四, under his new username, still has his own account.
    sign_in(client, "lisi2", "ls-secret")
    assert signed_in(client) == str(lisi.pk)
    assert User.objects.get(pk=lisi.pk).username == "lisi2"


def test_without_ldap_server_uri_lightboard_runs_without_python_ldap():
    """python-ldap is an optional extra: with the directory off, nothing imports it."""
    code = (
        "import sys; sys.modules['ldap'] = None; sys.modules['django_auth_ldap'] = None\n"
        "import django; django.setup()\n"
        "from django.conf import settings; from django.core.management import call_command\n"
        "assert not any('directory' in b for b in settings.AUTHENTICATION_BACKENDS), settings.AUTHENTICATION_BACKENDS\n"
        "import directory.admin, directory.gateway, directory.services, directory.tasks\n"
        "call_command('check')\n"
        "from django.test import Client\n"
        "assert Client().get('/accounts/login/').status_code == 200\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LDAP_", "SSO_"))}
    env["DJANGO_SETTINGS_MODULE"] = "lightboard.settings"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_directory_settings_are_checked_at_start_up(monkeypatch):
    import runpy

    from django.core.exceptions import ImproperlyConfigured

    path = str(ROOT / "lightboard" / "settings.py")
    monkeypatch.setenv("LDAP_SERVER_URI", "ldap://ldap.example.cn")
    with pytest.raises(ImproperlyConfigured, match="LDAP_USER_SEARCH_BASE"):
        runpy.run_path(path)
    monkeypatch.setenv("LDAP_USER_SEARCH_BASE", "ou=people,dc=example,dc=cn")
    monkeypatch.setenv("DIRECTORY_SYNC_MINUTES", "30")
    loaded = runpy.run_path(path)
    backends = loaded["AUTHENTICATION_BACKENDS"]
    assert backends[0] == "axes.backends.AxesStandaloneBackend"
    assert backends.index("directory.backends.DirectoryBackend") == backends.index("tasks.backends.ModelBackend") + 1
    assert loaded["CELERY_BEAT_SCHEDULE"]["sync-directory"]["schedule"] == 30 * 60
    monkeypatch.setenv("SSO_HEADER", "X-Remote-User")
    with pytest.raises(ImproperlyConfigured, match="SSO_TRUSTED_PROXIES"):
        runpy.run_path(path)
    monkeypatch.setenv("SSO_TRUSTED_PROXIES", "10.0.0.0/24,not-an-address")
    with pytest.raises(ImproperlyConfigured, match="not-an-address"):
        runpy.run_path(path)
    monkeypatch.setenv("SSO_TRUSTED_PROXIES", "10.0.0.5, 192.168.1.0/24")
    loaded = runpy.run_path(path)
    assert loaded["SSO_HEADER"] == "HTTP_X_REMOTE_USER"
    assert "directory.gateway.GatewayMiddleware" in loaded["MIDDLEWARE"]


# --- the SSO gateway ----------------------------------------------------------------------

PROXY = "10.0.0.5"


@pytest.fixture
def gateway(settings):
    settings.SSO_HEADER = "HTTP_X_REMOTE_USER"
    settings.SSO_TRUSTED_PROXIES = [PROXY, "192.168.10.0/24"]
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "directory.gateway.GatewayMiddleware",
    )
    settings.MIDDLEWARE = middleware
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "directory.gateway.GatewayBackend"]
    return settings


def test_the_trusted_gateway_signs_the_named_user_in(client, gateway, staff_a):
    response = client.get("/", HTTP_X_REMOTE_USER="staff_a", REMOTE_ADDR=PROXY, follow=True)
    assert signed_in(client) == str(staff_a.pk)
    assert response.redirect_chain[-1][0] == reverse("tasks:mine")
    # A proxy in a trusted network too.
    other = client.__class__()
    other.get("/", HTTP_X_REMOTE_USER="staff_a", REMOTE_ADDR="192.168.10.77")
    assert other.session.get("_auth_user_id") == str(staff_a.pk)


def test_the_header_from_any_other_address_is_ignored(client, gateway, staff_a):
    response = client.get("/", HTTP_X_REMOTE_USER="staff_a", REMOTE_ADDR="10.0.0.99", follow=True)
    assert not signed_in(client)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert 'name="password"' in page_text(response)


@pytest.mark.parametrize("name", ["nobody-here", "inactive", ""])
def test_the_gateway_naming_an_unknown_or_inactive_user_signs_nobody_in(client, gateway, staff_a, name):
    make_user("inactive", Role.STAFF, is_active=False)
    response = client.get("/", HTTP_X_REMOTE_USER=name, REMOTE_ADDR=PROXY, follow=True)
    assert not signed_in(client)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert not AccessAttempt.objects.exists()  # the proxy's address is not throttled for it


def test_a_gateway_session_ends_when_the_header_names_someone_else_or_nobody(client, gateway, staff_a, staff_b):
    client.get("/", HTTP_X_REMOTE_USER="staff_a", REMOTE_ADDR=PROXY)
    client.get("/", HTTP_X_REMOTE_USER="staff_b", REMOTE_ADDR=PROXY)
    assert signed_in(client) == str(staff_b.pk)
    client.get("/", REMOTE_ADDR=PROXY)
    assert not signed_in(client)


def test_with_the_directory_the_gateway_creates_the_person_from_it(client, gateway, mapped):
    response = client.get("/", HTTP_X_REMOTE_USER="lisi", REMOTE_ADDR=PROXY, follow=True)
    lisi = User.objects.get(username="lisi")
    assert signed_in(client) == str(lisi.pk)
    assert response.redirect_chain[-1][0] == reverse("reviews:confirmations")
    assert roles_of(lisi) == {Role.DIVISION_LEADER} and not lisi.has_usable_password()
    # A disabled directory account is not signed in through the gateway either.
    mapped.add_member(DISABLED_GROUP, "lisi")
    other = client.__class__()
    other.get("/", HTTP_X_REMOTE_USER="lisi", REMOTE_ADDR=PROXY)
    assert not other.session.get("_auth_user_id")
    lisi.refresh_from_db()
    assert not lisi.is_active


def test_with_the_directory_the_gateway_never_signs_in_a_local_account(client, gateway, mapped):
    # A local superuser "admin", and the directory's own "admin" entry.
    admin = make_user("admin", Role.ADMINISTRATOR, is_superuser=True, is_staff=True)

    response = client.get("/", HTTP_X_REMOTE_USER="admin", REMOTE_ADDR=PROXY, follow=True)

    assert not signed_in(client)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    admin.refresh_from_db()
    assert admin.directory_id == "" and admin.has_usable_password() and admin.is_superuser
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "fields", [{"is_superuser": True}, {"is_staff": True}, {"role": Role.ADMINISTRATOR}], ids=lambda f: next(iter(f))
)
def test_without_the_directory_the_gateway_never_signs_in_an_administrator(client, gateway, staff_a, fields):
    fields = dict(fields)
    role = fields.pop("role", Role.STAFF)
    make_user("admin", role, **fields)

    client.get("/", HTTP_X_REMOTE_USER="admin", REMOTE_ADDR=PROXY)
    assert not signed_in(client)
    # Other local accounts still sign in through it.
    client.get("/", HTTP_X_REMOTE_USER="staff_a", REMOTE_ADDR=PROXY)
    assert signed_in(client) == str(staff_a.pk)
