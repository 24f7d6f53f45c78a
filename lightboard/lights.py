"""Presentation of colours: the translated names of the lights, with the year's thresholds."""

from django.utils.translation import gettext_lazy as _

from .colour import Colour, classify

MISSING = "missing"

LABELS = {
    Colour.GREEN: _("Green light"),
    Colour.YELLOW: _("Yellow light"),
    Colour.RED: _("Red light"),
    MISSING: _("No score"),
}


def light_of(score, year):
    """The colour key ("green", "yellow", "red" or "missing") of a score under a year's
    thresholds; None or a bad value is "missing"."""
    if score is None:
        return MISSING
    try:
        return classify(score, green_above=year.green_above, red_below=year.red_below).value
    except ValueError:
        return MISSING


def label_of(key):
    return LABELS.get(key, LABELS[MISSING])
