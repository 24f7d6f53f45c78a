"""Repeated wrong passwords make a username wait before it signs in again from that address, a
wait that grows with each further failure; many from one address, whatever the usernames, make
every sign-in from it wait seconds (django-axes with lightboard.throttling)."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

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


def seconds_ago(seconds, **filters):
    """Move the recorded failures back in time, as if the seconds had passed."""
    AccessAttempt.objects.filter(**filters).update(attempt_time=timezone.now() - datetime.timedelta(seconds=seconds))


def test_spraying_from_one_address_makes_every_sign_in_from_it_wait(client, staff_a, staff_b):
    answers = [sign_in(client, username, "Winter2026!").status_code for _ in range(4) for username in SPRAYED]
    # No username reaches its own limit of 5; after the address's 20th failure, each attempt waits.
    assert answers[:20] == [200] * 20
    assert answers[20:] == [429] * 12
    assert AccessAttempt.objects.aggregate(total=Sum("failures_since_start"))["total"] == 20  # waits uncounted
    response = sign_in(client, "staff_a", "pw")
    assert response.status_code == 429
    assert 'id="address-locked"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    # From elsewhere the same people sign in; and here, seconds later, so does the colleague.
    assert sign_in(client, "staff_b", "pw", address="10.0.0.2").status_code == 302
    client.logout()
    seconds_ago(6, ip_address="10.0.0.1")
    assert sign_in(client, "staff_a", "pw").status_code == 302


def test_the_wait_of_a_spraying_address_doubles_with_each_further_failure(client, staff_a):
    for _ in range(4):
        for username in SPRAYED[2:7]:
            sign_in(client, username, "Winter2026!")  # 20 failures, none of staff_a's
    for number in range(4):  # the sprayer waits out each pause and fails again
        seconds_ago(400, ip_address="10.0.0.1")
        assert sign_in(client, f"user{number}", "Summer2026!").status_code == 200
    assert AccessAttempt.objects.aggregate(total=Sum("failures_since_start"))["total"] == 24
    seconds_ago(79, ip_address="10.0.0.1")
    assert sign_in(client, "staff_a", "pw").status_code == 429  # 24 failures: 5 s x 2^4 = 80 s
    seconds_ago(81, ip_address="10.0.0.1")
    assert sign_in(client, "staff_a", "pw").status_code == 302


def test_a_paused_account_signs_in_after_a_minute_and_each_further_failure_doubles_the_wait(client, staff_a):
    for _ in range(5):
        sign_in(client, "staff_a", "wrong")
    response = sign_in(client, "staff_a", "pw")
    assert response.status_code == 429 and "60 秒" in response.content.decode() or "1 分钟" in response.content.decode()
    seconds_ago(61, username="staff_a")
    assert sign_in(client, "staff_a", "wrong").status_code == 429  # the sixth failure
    seconds_ago(61, username="staff_a")
    assert sign_in(client, "staff_a", "pw").status_code == 429  # now two minutes
    seconds_ago(121, username="staff_a")
    assert sign_in(client, "staff_a", "pw").status_code == 302


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
