"""Staff, leaders and inspectors work on their phones: at 390×844 no page they can reach is
wider than the screen.

Over the demo data (pinned to 25 November 2026, as the journeys), each of the three demo logins
signs in and walks from their landing page by clicking its links, two clicks deep: the landing
page, the pages its links lead to, and the pages theirs lead to, going back with the browser's
back button after each. Signing out and the language switcher are buttons, not links; Excel,
Word and PDF downloads, evidence files and links that leave the site are not pages and are not followed.
The test fails listing every page whose document is wider than the viewport, and every link
that answers with an error.

Every kind of page, forty of each: the demo gives the leadership group alone some 440 pages two
clicks away (256 rating amendments, 64 tasks, 52 scorecards …), the same few templates over
different tasks. Each role opens up to forty pages of each kind (an address pattern with its
query parameters), in the order a person meets their links; a page past the fortieth of its
kind is not opened, so a long text that only it holds would go unseen here (the price of
keeping CI under twenty minutes). The subsidiary's logins open five of each kind, since the
group's open the same kinds.
LIGHTBOARD_PHONE_PAGES_PER_KIND=3 opens only the first three of each kind of page (an address
pattern with its query parameters), for a quick run while developing."""

import datetime
import os
import re
from urllib.parse import parse_qsl, urldefrag, urlsplit

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import expect

from reviews.demo import load_review_demo
from tasks.demo import load_demo_data
from tests.browser.conftest import PHONE, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = datetime.date(2026, 11, 25)
PASSWORD = "demo"
PER_KIND = 40
# The walks in three parts of about the same length, so that parallel test workers share them.
WALKS = {
    "leadership-and-staff": [
        ("leadership", re.compile("考核评价例会"), PER_KIND),
        ("staff", "我的任务", PER_KIND),
    ],
    "inspector-and-leader": [
        ("inspector", "督办队列", PER_KIND),
        ("leader", "待确认自评", PER_KIND),
    ],
    # The subsidiary's own chair and inspector (their roles held for 华岭稀土贸易 only): every
    # kind of page they reach, five of each; the group's logins above open those kinds too
    # (the same templates over a superset of the data).
    "subsidiary": [
        ("leadership.hlxt", re.compile("考核评价例会"), 5),
        ("inspector.hlxt", "督办队列", 5),
    ],
}
PAGES_PER_KIND = int(os.environ.get("LIGHTBOARD_PHONE_PAGES_PER_KIND", "0"))  # 0: each role's own number


@pytest.fixture
def on_25_november_2026(settings):
    settings.LIGHTBOARD_TODAY = TODAY
    return TODAY


def kind_of(address):
    """What kind of page an address opens: its URL pattern and the names of its parameters."""
    parts = urlsplit(address)
    try:
        route = resolve(parts.path).route
    except Resolver404:
        route = parts.path  # the click will show it answering 404
    return route, tuple(sorted(name for name, _value in parse_qsl(parts.query)))


class Walk:
    """One user's walk through the site on a phone, by clicking links."""

    def __init__(self, page, origin, per_kind=0):
        self.page = page
        self.origin = origin
        self.per_kind = PAGES_PER_KIND or per_kind
        self.opened = set()  # addresses (without #fragment) opened
        self.kinds = {}  # kind of page -> how many of it were opened
        self.too_wide = []  # (address, width)
        self.errors = []  # (address, status)

    def links(self):
        """(position, address) of every link on the page, as a person (and the accessibility
        tree) sees them."""
        hrefs = self.page.get_by_role("link").evaluate_all("links => links.map((link) => link.href)")
        return list(enumerate(hrefs))

    def worth_following(self, href):
        address = urldefrag(href).url
        parts = urlsplit(address)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            return False  # leaves the site (or mailto:, javascript:)
        if parts.path.endswith((".xlsx", ".docx", ".pdf")) or "/evidence/" in parts.path or "-files/" in parts.path:
            return False  # a download, not a page
        if address in self.opened:
            return False
        return not self.per_kind or self.kinds.get(kind_of(address), 0) < self.per_kind

    def note(self, address):
        self.opened.add(address)
        kind = kind_of(address)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def measure(self):
        width = self.page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            self.too_wide.append((self.page.url, width))

    def click(self, position):
        """Click the link at `position`; True when the page it opens answers without an error."""
        with self.page.expect_navigation() as navigation:
            self.page.get_by_role("link").nth(position).click()
        response = navigation.value
        if response is not None and response.status >= 400:
            self.errors.append((self.page.url, response.status))
            return False
        return True

    def back_to(self, address):
        self.page.go_back()
        expect(self.page).to_have_url(address)

    def open_all_links(self):
        """Open, one after the other, every link of this page worth following; return the
        positions of the links opened whose pages answered."""
        here = self.page.url
        opened = []
        for position, href in self.links():
            if self.worth_following(href) and urldefrag(href).url != urldefrag(here).url:
                self.note(urldefrag(href).url)
                if self.click(position):
                    self.measure()
                    opened.append(position)
                self.back_to(here)
        return opened

    def walk(self):
        """The landing page, the pages one click away, the pages two clicks away."""
        landing = self.page.url
        self.note(urldefrag(landing).url)
        self.measure()
        for position in self.open_all_links():
            self.click(position)
            self.open_all_links()
            self.back_to(landing)


@pytest.mark.parametrize("walkers", WALKS.values(), ids=WALKS.keys())
def test_every_page_each_role_reaches_fits_a_390_px_phone(walkers, open_page, live_server, on_25_november_2026):
    year = load_demo_data(today=TODAY)
    load_review_demo(year, today=TODAY)

    problems = []
    for username, landing_heading, per_kind in walkers:
        page = open_page(PHONE)
        sign_in(page, username, PASSWORD)
        expect(page.get_by_role("heading", name=landing_heading)).to_be_visible()
        screenshot(page, f"phone-{username}-landing")
        walk = Walk(page, live_server.url, per_kind)
        walk.walk()
        assert len(walk.kinds) > 5, (username, walk.kinds)  # the walk did go somewhere
        problems += [f"{username}: {address} is {width} px wide" for address, width in walk.too_wide]
        problems += [f"{username}: {address} answered {status}" for address, status in walk.errors]
        page.context.close()
    assert problems == [], "\n".join(problems)
