"""The screens of the site shell: who sees which entry, and each role's main screen."""

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext_lazy as _

from .roles import EVERYONE, READ_ALL_ROLES, Role, roles_of


@dataclass(frozen=True)
class Screen:
    url_name: str
    label: str
    roles: frozenset


SCREENS = [
    Screen("tasks:mine", _("My tasks"), frozenset({Role.STAFF})),
    Screen("tasks:lists", _("Task lists"), frozenset({Role.STAFF}) | READ_ALL_ROLES),
    Screen("reviews:confirmations", _("Confirmations"), frozenset({Role.DIVISION_LEADER})),
    Screen("reviews:meetings", _("Review meetings"), frozenset({Role.LEADERSHIP})),
    Screen("tasks:changes", _("Change requests"), frozenset({Role.LEADERSHIP})),
    Screen("reviews:followups", _("Follow-up"), frozenset({Role.INSPECTOR})),
    Screen("reviews:accountability", _("Accountability register"), frozenset({Role.INSPECTOR, Role.LEADERSHIP})),
    Screen("reports:overview", _("Reports"), READ_ALL_ROLES),
    Screen("inbox:index", _("Inbox"), EVERYONE),
    Screen("tasks:deputies", _("Deputies"), frozenset({Role.DIVISION_LEADER, Role.INSPECTOR})),
    Screen("admin:index", _("Administration"), frozenset({Role.ADMINISTRATOR})),
]

# A user with several roles lands on the screen of the first role they hold here.
MAIN_SCREEN_BY_ROLE = [
    (Role.LEADERSHIP, "reviews:meetings"),
    (Role.DIVISION_LEADER, "reviews:confirmations"),
    (Role.INSPECTOR, "reviews:followups"),
    (Role.STAFF, "tasks:mine"),
    (Role.ADMINISTRATOR, "admin:index"),
]


@dataclass(frozen=True)
class NavEntry:
    """One entry of a user's menu as the header shows it."""

    url_name: str
    label: str
    url: str
    current: bool


@lru_cache(maxsize=256)
def _fixed_url(name, prefix, urlconf):
    return reverse(name, urlconf=urlconf)


def fixed_url(name):
    """reverse(name) for a URL that takes no arguments, resolved once per process (per script
    prefix and URL conf): the header of every page links to the same few."""
    return _fixed_url(name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


def nav_entries(user, current_view_name):
    """The menu of screens_for(user), each with its URL and whether it is the page shown."""
    return [
        NavEntry(screen.url_name, screen.label, fixed_url(screen.url_name), screen.url_name == current_view_name)
        for screen in screens_for(user)
    ]


def screens_for(user):
    """The navigation entries this user may open, in menu order."""
    roles = roles_of(user)
    return [screen for screen in SCREENS if not roles.isdisjoint(screen.roles)]


def main_screen_for(user):
    """The URL name of the user's main screen, or None for a user without a role."""
    roles = roles_of(user)
    for role, url_name in MAIN_SCREEN_BY_ROLE:
        if role in roles:
            return url_name
    return None
