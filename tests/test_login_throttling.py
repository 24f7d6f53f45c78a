"""Repeated wrong passwords lock the username out from that address for a while, and many from
one address lock that address (django-axes with lightboard.throttling)."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def sign_in(client, username, password, address="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, staff_a):
    for _ in range(5):
        assert sign_in(client, "staff_a", "wrong").status_code in (200, 429)
    response = sign_in(client, "staff_a", "pw")
    assert response.status_code == 429
    assert 'id="locked-out"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_few_mistakes_do_not_lock_and_success_resets_the_count(client, staff_a):
    for _ in range(3):
        sign_in(client, "staff_a", "wrong")
    response = sign_in(client, "staff_a", "pw")
    assert response.status_code == 302
    client.logout()
    for _ in range(3):
        sign_in(client, "staff_a", "wrong")
    assert sign_in(client, "staff_a", "pw").status_code == 302


def test_the_lockout_is_per_username_and_address(client, staff_a, staff_b):
    for _ in range(5):
        sign_in(client, "staff_a", "wrong")
    assert sign_in(client, "staff_b", "pw").status_code == 302
    client.logout()
    assert sign_in(client, "staff_a", "pw", address="10.0.0.2").status_code == 302


def test_an_administrator_can_unlock(client, staff_a):
    for _ in range(5):
        sign_in(client, "staff_a", "wrong")
    assert AccessAttempt.objects.filter(username="staff_a").exists()
    call_command("axes_reset_username", "staff_a", verbosity=0)
    assert sign_in(client, "staff_a", "pw").status_code == 302


# --- password spraying: a limit per address, whatever the usernames -------------------------

SPRAYED = ["staff_a", "staff_b", "leader_a", "zhangwei", "liuyang", "wangfang", "chenjing", "admin"]


def test_spraying_from_one_address_locks_that_address_for_every_username(client, staff_a, staff_b):
    answers = [sign_in(client, username, "Winter2026!").status_code for _ in range(4) for username in SPRAYED]
    # No username reaches its own limit of 5; the address reaches its limit of 20.
    assert answers[:19] == [200] * 19
    assert answers[19:] == [429] * 13
    response = sign_in(client, "staff_a", "pw")
    assert response.status_code == 429
    assert 'id="address-locked"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The lock is of that address: from elsewhere the same people sign in.
    assert sign_in(client, "staff_b", "pw", address="10.0.0.2").status_code == 302


def test_the_address_limit_can_be_switched_off(client, staff_a, settings):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 0
    answers = [sign_in(client, username, "Winter2026!").status_code for _ in range(4) for username in SPRAYED]
    assert answers == [200] * 32
    assert sign_in(client, "staff_a", "pw").status_code == 302


def test_someone_elsewhere_cannot_lock_a_colleague_out(client, staff_a):
    for _ in range(25):
        sign_in(client, "staff_a", "guess", address="10.9.9.9")
    assert sign_in(client, "staff_a", "guess", address="10.9.9.9").status_code == 429
    assert sign_in(client, "staff_a", "pw", address="10.0.0.1").status_code == 302


def test_an_administrator_can_unlock_an_address(client, staff_a):
    for _ in range(4):
        for username in SPRAYED:
            sign_in(client, username, "Winter2026!")
    call_command("axes_reset_ip", "10.0.0.1", verbosity=0)
    assert sign_in(client, "staff_a", "pw").status_code == 302


# --- the client's address, with and without a reverse proxy ---------------------------------


def test_without_a_proxy_x_forwarded_for_is_ignored(client, staff_a, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for number in range(5):
        client.post(
            "/accounts/login/",
            {"username": "staff_a", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number}",
        )
    assert AccessAttempt.objects.get().ip_address == "10.0.0.1"
    assert sign_in(client, "staff_a", "pw").status_code == 429


def via_proxy(client, username, password, forwarded):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.254",
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_behind_the_proxy_the_address_the_proxy_saw_is_the_clients(client, staff_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client writes its own X-Forwarded-For entries to escape the lock; the proxy appends
    # the address it saw, and only that one counts.
    for number in range(5):
        via_proxy(client, "staff_a", "wrong", f"198.51.100.{number}, 203.0.113.7")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
    assert via_proxy(client, "staff_a", "pw", "198.51.100.99, 203.0.113.7").status_code == 429
    # Everyone comes through the proxy's address, yet another client is not locked out.
    assert via_proxy(client, "staff_a", "pw", "203.0.113.8").status_code == 302


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_clients(client, staff_a, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    for _ in range(5):
        via_proxy(client, "staff_a", "wrong", "198.51.100.1, 203.0.113.7, 10.0.0.253")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"


@pytest.mark.parametrize("forwarded", ["", "not an address", "  "])
def test_behind_the_proxy_a_missing_or_bad_header_counts_as_the_proxy(client, staff_a, settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    via_proxy(client, "staff_a", "wrong", forwarded)
    assert AccessAttempt.objects.get().ip_address == "10.0.0.254"
