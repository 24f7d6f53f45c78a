"""Repeated wrong passwords lock the username out from that address for a while (django-axes)."""

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
