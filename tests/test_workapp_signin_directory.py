"""Signing in through WeCom asks the directory (a real slapd, tests/ldap_fixtures.py) about a
directory person again: one the directory disabled since the last sync is refused and made
inactive, as at a password sign-in; an enabled one comes in, brought up to date."""

import pytest

from tasks.models import User
from tests.fake_workapps import fake_workapps_server_fixture, workapps_fixture  # noqa: F401 - fixtures
from tests.ldap_fixtures import DISABLED_GROUP, directory, slapd  # noqa: F401 - fixtures
from tests.test_workapp_signin import back_from_the_app, signed_in_user, to_the_app


def synced(username):
    """The user of the directory's `username`, as the last sync left them (active)."""
    from directory.backends import DirectoryBackend

    user = DirectoryBackend().populate_user(username)
    assert user is not None and user.is_active and user.directory_id
    User.objects.filter(pk=user.pk).update(wecom_userid=f"wx-{username}")
    return User.objects.get(pk=user.pk)


@pytest.fixture
def people(db, directory, workapps):  # noqa: F811 - fixtures
    workapps.add_users(wecom=["wx-wangwu", "wx-lisi"])
    return {name: synced(name) for name in ("wangwu", "lisi")}


def test_someone_disabled_in_the_directory_cannot_sign_in_through_wecom(client, people, directory, workapps):  # noqa: F811
    directory.add_member(DISABLED_GROUP, "wangwu")
    workapps.signed_in["wecom"] = "wx-wangwu"

    response = client.get(back_from_the_app(to_the_app(client, "wecom")))

    assert response.status_code == 403 and signed_in_user(client) is None
    wangwu = User.objects.get(pk=people["wangwu"].pk)
    assert wangwu.is_active is False, "made inactive, as a password sign-in does"


def test_an_enabled_directory_person_signs_in_through_wecom(client, people, workapps):
    workapps.signed_in["wecom"] = "wx-lisi"

    response = client.get(back_from_the_app(to_the_app(client, "wecom", "/inbox/")))

    assert response.status_code == 302 and response["Location"] == "/inbox/"
    assert signed_in_user(client) == str(people["lisi"].pk)


def test_a_person_gone_from_the_directory_is_refused(client, people, directory, workapps):  # noqa: F811
    directory.delete("uid=lisi,ou=people,dc=example,dc=cn")
    workapps.signed_in["wecom"] = "wx-lisi"

    response = client.get(back_from_the_app(to_the_app(client, "wecom")))

    assert response.status_code == 403 and signed_in_user(client) is None


def test_a_local_account_is_not_asked_about(client, directory, workapps, db):  # noqa: F811
    local = User.objects.create_user("local", wecom_userid="wx-local")
    workapps.add_users(wecom=["wx-local"])
    workapps.signed_in["wecom"] = "wx-local"

    response = client.get(back_from_the_app(to_the_app(client, "wecom")))

    assert response.status_code == 302 and signed_in_user(client) == str(local.pk)
