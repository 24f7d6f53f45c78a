"""The lights and the scores behind them, each rule written once: which light a score gives
under a year's thresholds, which score stands for a stage, and how a score is checked and
stored. The colour engine underneath is `colour.py`, pure Python."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .colour import Colour, classify
from .text import read_number

MISSING = "missing"
COLOUR_KEYS = (Colour.GREEN.value, Colour.YELLOW.value, Colour.RED.value)

LABELS = {
    Colour.GREEN: _("Green light"),
    Colour.YELLOW: _("Yellow light"),
    Colour.RED: _("Red light"),
    MISSING: _("No score"),
}

# Scores are stored as percentages with one decimal place (82.5).
SCORE_STEP = Decimal("0.1")
NOT_A_SCORE = _("Enter a number from 0 to 100, such as 75 or 82.5.")
TOO_MANY_DECIMALS = _("Use at most one decimal place, such as 82.5.")


def light_of(score, year):
    """The light ("green", "yellow" or "red") of a score under the year's thresholds, by the
    colour engine; "missing" for no score (None) or a value that is not a score."""
    if score is None:
        return MISSING
    try:
        return classify(score, green_above=year.green_above, red_below=year.red_below).value
    except ValueError:
        return MISSING


def label_of(key):
    """The translated name of a light key: 绿灯 / 黄灯 / 红灯 / 未评分."""
    return LABELS.get(key, LABELS[MISSING])


def parse_score(value, *, field):
    """A score as it is stored: the Decimal with one decimal place (75 -> 75.0). Text is read as
    a person types it (lightboard.text.read_number: ８２．５％ is 82.5, 1e1 is refused). Anything
    but a number from 0 to 100 with at most one decimal place raises ValidationError({field: ...})."""
    try:
        score = _as_decimal(value)
        classify(score)
    except ValueError:
        raise ValidationError({field: NOT_A_SCORE}) from None
    if score.as_tuple().exponent < -1:
        raise ValidationError({field: TOO_MANY_DECIMALS})
    return score.quantize(SCORE_STEP)


def _as_decimal(value):
    if isinstance(value, str):
        return read_number(value, percent=True)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    raise ValueError(f"not a score: {value!r}")


@dataclass(frozen=True)
class Standing:
    """The score that stands for one task's stage, where it comes from and its light."""

    score: Decimal | None
    source: str  # "final", "confirmed", "self" or "none"
    light: str


def stage_standing(year, *, final=None, final_light="", confirmed=None, submitted=None):
    """Which score stands for a stage: the leadership group's final score (with the light it was
    given at the meeting), else the division leader's confirmed score, else the department's
    submitted self score. A draft or returned self score stands for nothing: pass `submitted`
    only for an assessment that was submitted (see SelfAssessment.submitted_score)."""
    if final is not None:
        return Standing(final, "final", final_light or light_of(final, year))
    if confirmed is not None:
        return Standing(confirmed, "confirmed", light_of(confirmed, year))
    if submitted is not None:
        return Standing(submitted, "self", light_of(submitted, year))
    return Standing(None, "none", MISSING)
