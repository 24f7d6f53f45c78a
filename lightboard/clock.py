"""Today's date as lightboard sees it: the local date, unless the LIGHTBOARD_TODAY setting pins
one. A training or demo environment pinned to a date always shows the same point of the year;
the browser tests walk their story on a pinned date the same way."""

from django.conf import settings
from django.utils import timezone


def today():
    return settings.LIGHTBOARD_TODAY or timezone.localdate()
