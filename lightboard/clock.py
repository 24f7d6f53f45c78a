"""Today's date as lightboard sees it: the local date, unless the LIGHTBOARD_TODAY setting pins
one (a demo copy, the browser tests' story), or a block of code runs `as_of` a day (the demo data
replays its year step by step, each on its own day)."""

import datetime
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.utils import timezone

_as_of = ContextVar("lightboard_today", default=None)


def today():
    return _as_of.get() or settings.LIGHTBOARD_TODAY or timezone.localdate()


def now():
    """The current moment as lightboard sees it: the real time, on today's date when today is
    pinned or replayed (so that a step recorded "now" is not dated after the days it counts)."""
    moment = timezone.localtime()
    day = today()
    if day == moment.date():
        return moment
    return moment.replace(year=day.year, month=day.month, day=day.day)


@contextmanager
def as_of(day):
    """Within the block, `day` is today (for this thread or task only)."""
    token = _as_of.set(day)
    try:
        yield day
    finally:
        _as_of.reset(token)


def add_working_days(day, count):
    """The date `count` working days (Monday to Friday) after `day`. Public holidays are not
    known to lightboard: a reply due on one is due that day."""
    while count > 0:
        day += datetime.timedelta(days=1)
        if day.isoweekday() <= 5:
            count -= 1
    return day
