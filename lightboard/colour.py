"""Traffic-light colour rule for task completion.

The source specification says:

* green  - completion above 80 %
* yellow - 60 % <= completion < 80 %
* red    - completion below 60 %

It does not say what exactly 80 % is. Lightboard rules it **yellow**: green requires
completion *strictly above* ``green_above`` and red requires completion *strictly below*
``red_below``; everything in between (both ends included) is yellow.

Completion is a percentage in [0, 100] given as ``int``, ``float`` or
``decimal.Decimal`` (other real numbers such as ``fractions.Fraction`` work too).
Comparisons are exact: Python compares ``Decimal`` with ``int``/``float`` without
rounding, so ``Decimal("80.0000001")`` is green. ``bool``, strings, ``None``, NaN and
infinities are rejected with ``ValueError``.

This module is pure Python (standard library only) so it can be used and tested
without Django.
"""

from __future__ import annotations

import enum
import math
import numbers
from decimal import Decimal

__all__ = [
    "DEFAULT_GREEN_ABOVE",
    "DEFAULT_RED_BELOW",
    "Colour",
    "classify",
    "validate_thresholds",
]

DEFAULT_GREEN_ABOVE = 80
DEFAULT_RED_BELOW = 60

_LABELS = {
    "green": ("绿灯", "Green"),
    "yellow": ("黄灯", "Yellow"),
    "red": ("红灯", "Red"),
}


class Colour(enum.StrEnum):
    """Traffic-light colour; the value (and str()) is the lower-case English name."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def label_zh(self) -> str:
        """Chinese label: 绿灯 / 黄灯 / 红灯."""
        return _LABELS[self.value][0]

    @property
    def label_en(self) -> str:
        """English label: Green / Yellow / Red."""
        return _LABELS[self.value][1]


def _is_percentage(value: object) -> bool:
    """Return True if *value* is a finite, non-bool number in [0, 100]."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
        return False
    if isinstance(value, Decimal):
        finite = value.is_finite()  # also handles sNaN without raising
    elif isinstance(value, numbers.Rational):
        finite = True  # int, Fraction: exact, always finite
    else:
        finite = math.isfinite(value)
    return finite and 0 <= value <= 100


def validate_thresholds(*, green_above: object, red_below: object) -> None:
    """Check classification thresholds; raise ``ValueError`` if they are unusable.

    Each threshold must be a finite, non-bool number in [0, 100] and
    ``red_below`` must not be greater than ``green_above``.
    """
    bad = [
        f"{name} must be a finite number from 0 to 100, got {value!r}"
        for name, value in (("green_above", green_above), ("red_below", red_below))
        if not _is_percentage(value)
    ]
    if bad:
        raise ValueError("; ".join(bad))
    if red_below > green_above:  # type: ignore[operator]
        raise ValueError(f"red_below must be <= green_above, got red_below={red_below!r}, green_above={green_above!r}")


def classify(
    completion: object,
    *,
    green_above: object = DEFAULT_GREEN_ABOVE,
    red_below: object = DEFAULT_RED_BELOW,
) -> Colour:
    """Return the traffic-light colour for a completion percentage.

    GREEN if ``completion > green_above``, RED if ``completion < red_below``,
    YELLOW otherwise (so both thresholds themselves are yellow).

    Raises ``ValueError`` if *completion* is not a finite number in [0, 100]
    (``bool`` and strings are rejected) or if the thresholds are invalid
    (see :func:`validate_thresholds`).
    """
    validate_thresholds(green_above=green_above, red_below=red_below)
    if not _is_percentage(completion):
        raise ValueError(f"completion must be a finite number from 0 to 100, got {completion!r}")
    if completion > green_above:  # type: ignore[operator]
        return Colour.GREEN
    if completion < red_below:  # type: ignore[operator]
        return Colour.RED
    return Colour.YELLOW
