"""The kinds of message, gathered into the categories a person chooses a delivery for.

A kind is the string an app passes to `notify` ("letter_supervision", "reminder_confirmation"
…); its category decides whether the e-mail goes at once or in the daily digest. The inbox
shows every message at once whatever the choice."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Mode(models.TextChoices):
    IMMEDIATE = "immediate", _("At once")
    DAILY = "daily", _("In the daily digest")
    OFF = "off", _("Not sent")


class Category(models.TextChoices):
    LETTERS = "letters", _("Letters and interview notices")
    RETURNS = "returns", _("Assessments and lists returned to you")
    UPDATES = "updates", _("Confirmations, lights and list approvals")
    REMINDERS = "reminders", _("Reminders of deadlines")
    COMMENDATIONS = "commendations", _("Commendations")
    BRIEFING = "briefing", _("Weekly briefing of the leadership group")
    SYSTEM = "system", _("Notices to administrators")


# What a person may choose per category, and what holds until they choose. Letters and
# returns ask for an answer, so they are not held back by default; a letter cannot be switched off.
EITHER = (Mode.IMMEDIATE, Mode.DAILY)
CHOICES = {
    Category.LETTERS: EITHER,
    Category.RETURNS: EITHER,
    Category.UPDATES: EITHER,
    Category.REMINDERS: EITHER,
    Category.COMMENDATIONS: EITHER,
    Category.BRIEFING: (Mode.IMMEDIATE, Mode.OFF),
    Category.SYSTEM: (Mode.IMMEDIATE,),
}
DEFAULTS = dict.fromkeys(CHOICES, Mode.IMMEDIATE) | {
    Category.REMINDERS: Mode.DAILY,
    Category.COMMENDATIONS: Mode.DAILY,
}


def mode_label(category, mode):
    """What a choice reads as on the settings page: the weekly briefing is sent or not."""
    if category == Category.BRIEFING and mode == Mode.IMMEDIATE:
        return _("Send it")
    return Mode(mode).label


# The e-mail that carries a person's daily digest: an envelope for messages already in the inbox.
DIGEST = "digest"
# The kind of the notice administrators get when messages could not be delivered.
DELIVERY_FAILED = "outbox_failed"
# The leadership group's weekly briefing.
BRIEFING = "briefing"

_BY_KIND = {
    "assessment_returned": Category.RETURNS,
    "list_returned": Category.RETURNS,
    "assessment_confirmed": Category.UPDATES,
    "rating_light": Category.UPDATES,
    "list_submitted": Category.UPDATES,
    "list_approved": Category.UPDATES,
    "letter_acknowledged": Category.UPDATES,
    "rectification_submitted": Category.UPDATES,
    "rectification_accepted": Category.UPDATES,
    "rectification_returned": Category.RETURNS,
    "commendation": Category.COMMENDATIONS,
    "honour_roll": Category.COMMENDATIONS,
    BRIEFING: Category.BRIEFING,
    DIGEST: Category.SYSTEM,
    DELIVERY_FAILED: Category.SYSTEM,
}
_BY_PREFIX = {"letter_": Category.LETTERS, "reminder_": Category.REMINDERS}


def category_of(kind):
    """The category of a kind of message; an unknown kind is delivered at once (UPDATES)."""
    if kind in _BY_KIND:
        return _BY_KIND[kind]
    for prefix, category in _BY_PREFIX.items():
        if kind.startswith(prefix):
            return category
    return Category.UPDATES
