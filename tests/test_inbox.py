"""The in-app inbox: the notification rows themselves, an unread count in the header
(refreshed by htmx from /inbox/count/), a message marked read when it is opened (or all at
once), never by merely listing them; each user's own only, and a header that costs one query
whatever the number of notifications."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outbox.models import Notification
from outbox.services import notify
from tests.reviews_fixtures import english

pytestmark = pytest.mark.django_db


def send(user, n, *, prefix="msg"):
    return [
        notify(
            recipient=user,
            kind="test",
            subject=f"{prefix} {i} for {user.username}",
            body=f"body {i}",
            link=f"/reviews/letters/{i}/",
            key=f"{prefix}:{user.pk}:{i}",
        )
        for i in range(n)
    ]


def header_count(html):
    match = re.search(r'<span id="inbox-count" class="badge( empty)?"[^>]*>(\d*)</span>', html)
    assert match, "no #inbox-count in the page"
    return int(match.group(2)) if match.group(2) else 0


def inbox_rows(html):
    """(unread, subject) of each message in the inbox, top to bottom."""
    body = re.search(r'<table class="grid[^"]*" id="inbox">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, "no #inbox"
    rows = body.group(1).split("<tr")[1:]
    return [
        (row.startswith(' class="unread"'), re.search(r'class="link-button">(.*?)</button>', row, re.S).group(1))
        for row in rows
        if "link-button" in row
    ]


def open_url(subject):
    return f"/inbox/{Notification.objects.get(subject=subject).pk}/open/"


@pytest.fixture
def staff_client(client, staff_a):
    client.force_login(staff_a)
    return english(client)


def test_the_header_shows_the_unread_count(staff_client, staff_a, staff_b):
    send(staff_a, 3)
    send(staff_b, 5)
    Notification.objects.filter(recipient=staff_a, subject="msg 0 for staff_a").update(read_at=timezone.now())
    assert header_count(staff_client.get("/tasks/mine/").content.decode()) == 2


def test_no_unread_shows_an_empty_badge(staff_client, staff_a):
    html = staff_client.get("/tasks/mine/").content.decode()
    assert header_count(html) == 0
    assert 'id="inbox-count" class="badge empty"' in html


def test_the_count_fragment_is_just_the_badge(staff_client, staff_a):
    send(staff_a, 4)
    response = staff_client.get("/inbox/count/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode().strip()
    assert html.startswith('<span id="inbox-count"') and html.endswith("</span>")
    assert "<html" not in html and "<nav" not in html
    assert header_count(html) == 4
    assert 'hx-get="/inbox/count/"' in html


def test_listing_the_inbox_changes_nothing(staff_client, staff_a):
    send(staff_a, 3)
    for _visit in range(2):
        html = staff_client.get("/inbox/").content.decode()
        rows = inbox_rows(html)
        assert len(rows) == 3 and all(unread for unread, _subject in rows)
        assert header_count(html) == 3
    assert Notification.objects.filter(recipient=staff_a, read_at__isnull=True).count() == 3


def test_opening_a_message_marks_it_read_and_goes_where_it_points(staff_client, staff_a):
    send(staff_a, 3)
    response = staff_client.post(open_url("msg 1 for staff_a"))
    assert response.status_code == 302 and response.url == "/reviews/letters/1/"
    assert Notification.objects.get(subject="msg 1 for staff_a").read_at is not None
    rows = inbox_rows(staff_client.get("/inbox/").content.decode())
    assert [subject for unread, subject in rows if unread] == ["msg 2 for staff_a", "msg 0 for staff_a"]
    assert header_count(staff_client.get("/inbox/count/").content.decode()) == 2
    # Opening it again keeps the time it was first read.
    first_read = Notification.objects.get(subject="msg 1 for staff_a").read_at
    staff_client.post(open_url("msg 1 for staff_a"))
    assert Notification.objects.get(subject="msg 1 for staff_a").read_at == first_read


@pytest.mark.parametrize("link", ["//evil.example/", "https://evil.example/x", "javascript:alert(1)", ""])
def test_opening_a_message_never_leaves_the_site(staff_client, staff_a, link):
    message = notify(recipient=staff_a, kind="test", subject="外链", link=link, key=f"link:{link}")
    response = staff_client.post(f"/inbox/{message.pk}/open/")
    assert response.status_code == 302 and response.url == "/inbox/"
    assert Notification.objects.get(pk=message.pk).read_at is not None


def test_a_message_is_opened_only_by_post(staff_client, staff_a):
    send(staff_a, 1)
    assert staff_client.get(open_url("msg 0 for staff_a")).status_code == 405
    assert Notification.objects.get().read_at is None


def test_mark_all_as_read(staff_client, staff_a, staff_b):
    send(staff_a, 3)
    send(staff_b, 2)
    assert "Mark all as read" in staff_client.get("/inbox/").content.decode()
    response = staff_client.post("/inbox/read/")
    assert response.status_code == 302 and response.url == "/inbox/"
    html = staff_client.get("/inbox/").content.decode()
    assert header_count(html) == 0 and not any(unread for unread, _subject in inbox_rows(html))
    assert "Mark all as read" not in html
    assert Notification.objects.filter(recipient=staff_b, read_at__isnull=True).count() == 2


def test_a_new_message_after_reading_counts_again(staff_client, staff_a):
    send(staff_a, 2)
    staff_client.post("/inbox/read/")
    send(staff_a, 1, prefix="later")
    assert header_count(staff_client.get("/inbox/count/").content.decode()) == 1
    rows = inbox_rows(staff_client.get("/inbox/").content.decode())
    assert [subject for unread, subject in rows if unread] == ["later 0 for staff_a"]


def test_the_inbox_lists_the_newest_first(staff_client, staff_a):
    send(staff_a, 3)
    html = staff_client.get("/inbox/").content.decode()
    assert [subject for _unread, subject in inbox_rows(html)] == [
        "msg 2 for staff_a",
        "msg 1 for staff_a",
        "msg 0 for staff_a",
    ]
    assert f'action="{open_url("msg 2 for staff_a")}"' in html


def test_another_users_notifications_never_show(staff_client, staff_a, staff_b):
    send(staff_b, 3)
    html = staff_client.get("/inbox/").content.decode()
    assert "staff_b" not in "".join(subject for _unread, subject in inbox_rows(html))
    assert "No messages." in html
    assert header_count(html) == 0
    assert header_count(staff_client.get("/inbox/count/").content.decode()) == 0
    # Another person's message cannot be opened (nor marked read) by this user.
    theirs = Notification.objects.filter(recipient=staff_b).first()
    assert staff_client.post(f"/inbox/{theirs.pk}/open/").status_code == 404
    assert Notification.objects.filter(recipient=staff_b, read_at__isnull=True).count() == 3


def test_the_same_idempotency_key_makes_one_message(staff_a):
    first = notify(recipient=staff_a, kind="test", subject="once", key="same-key")
    second = notify(recipient=staff_a, kind="test", subject="twice", key="same-key")
    assert first.pk == second.pk
    assert Notification.objects.filter(recipient=staff_a).count() == 1


@pytest.mark.parametrize("url", ["/inbox/", "/inbox/count/"])
def test_anonymous_users_go_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- a fixed number of queries ---------------------------------------------------------


def notification_queries(captured):
    """The queries that read the notifications themselves (not a letter joined to whom it went)."""
    return [q["sql"] for q in captured if 'FROM "reviews_notification"' in q["sql"]]


@pytest.mark.parametrize("url", ["/tasks/mine/", "/inbox/count/"])
def test_the_header_count_costs_one_query_whatever_the_number_of_notifications(staff_client, staff_a, url):
    seen = []
    for total in (0, 1, 60):
        send(staff_a, total - Notification.objects.filter(recipient=staff_a).count(), prefix=f"n{total}")
        with CaptureQueriesContext(connection) as captured:
            response = staff_client.get(url)
        assert response.status_code == 200
        assert header_count(response.content.decode()) == total
        counting = notification_queries(captured)
        assert len(counting) == 1
        assert "COUNT(" in counting[0].upper()
        seen.append(len(captured))
    assert len(set(seen)) == 1, f"queries per request: {seen}"


def test_opening_the_inbox_runs_a_fixed_number_of_queries(staff_client, staff_a):
    seen = []
    for total in (1, 60):
        send(staff_a, total, prefix=f"n{total}")
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get("/inbox/").status_code == 200
        seen.append(len(captured))
    assert seen[0] == seen[1], f"queries per request: {seen}"


def test_fragments_that_do_not_show_the_header_do_not_count(client, inspector, staff_a):
    """The unread count is lazy: the queue's htmx fragment does not pay for it."""
    client.force_login(inspector)
    send(inspector, 3)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/reviews/followups/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert notification_queries(captured) == []
