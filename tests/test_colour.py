"""Tests for lightboard.colour (pure Python, no Django and no database needed)."""

import ast
import math
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lightboard.colour import (
    DEFAULT_GREEN_ABOVE,
    DEFAULT_RED_BELOW,
    Colour,
    classify,
    validate_thresholds,
)

RANK = {Colour.RED: 0, Colour.YELLOW: 1, Colour.GREEN: 2}
G, Y, R = Colour.GREEN, Colour.YELLOW, Colour.RED


# --- Colour enum -----------------------------------------------------------------------


def test_colour_values():
    assert [c.value for c in Colour] == ["green", "yellow", "red"]
    assert Colour.GREEN == "green"
    assert Colour.YELLOW == "yellow"
    assert Colour.RED == "red"
    assert Colour("yellow") is Colour.YELLOW


@pytest.mark.parametrize("colour", list(Colour))
def test_colour_is_str_and_prints_value(colour):
    assert isinstance(colour, str)
    assert str(colour) == colour.value
    assert f"{colour}" == colour.value
    assert format(colour, "") == colour.value
    assert f"{colour:>7}" == f"{colour.value:>7}"


@pytest.mark.parametrize(
    ("colour", "zh", "en"),
    [(G, "绿灯", "Green"), (Y, "黄灯", "Yellow"), (R, "红灯", "Red")],
)
def test_colour_labels(colour, zh, en):
    assert colour.label_zh == zh
    assert colour.label_en == en


def test_defaults():
    assert DEFAULT_GREEN_ABOVE == 80
    assert DEFAULT_RED_BELOW == 60


def test_str_of_classify_80_is_yellow():
    assert str(classify(80)) == "yellow"
    assert str(classify(100)) == "green"
    assert str(classify(0)) == "red"


# --- Default thresholds: boundaries --------------------------------------------------

BOUNDARIES = [
    (0, R),
    ("59.9", R),
    (60, Y),
    ("60.1", Y),
    ("79.9", Y),
    (80, Y),
    ("80.1", G),
    (100, G),
]


def _variants(value):
    """int (where integral), float and Decimal forms of a boundary value."""
    dec = Decimal(str(value))
    out = [float(dec), dec]
    if dec == dec.to_integral_value():
        out.insert(0, int(dec))
    return out


@pytest.mark.parametrize(
    ("completion", "expected"),
    [(v, colour) for raw, colour in BOUNDARIES for v in _variants(raw)],
    ids=repr,
)
def test_default_boundaries(completion, expected):
    result = classify(completion)
    assert result is expected
    assert type(result) is Colour


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        (Decimal("80.0000001"), G),
        (Decimal("80.0000000000000000000000001"), G),
        (Decimal("80.000"), Y),
        (Decimal("79.9999999999999999999999999"), Y),
        (Decimal("60.000"), Y),
        (Decimal("59.9999999999999999999999999"), R),
        (Decimal("0.000"), R),
        (Decimal("100.00"), G),
        (Decimal("-0"), R),
        (-0.0, R),
        (math.nextafter(80.0, math.inf), G),
        (math.nextafter(60.0, -math.inf), R),
        (Fraction(161, 2), G),
        (Fraction(119, 2), R),
    ],
    ids=repr,
)
def test_exact_comparisons(completion, expected):
    assert classify(completion) is expected


# --- Custom thresholds ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        (0, R),
        (49.9, R),
        (50, Y),
        (Decimal(50), Y),
        (70, Y),
        (89.9, Y),
        (90, Y),
        (90.1, G),
        (Decimal("90.1"), G),
        (100, G),
    ],
)
def test_custom_thresholds_90_50(completion, expected):
    assert classify(completion, green_above=90, red_below=50) is expected


@pytest.mark.parametrize(
    ("completion", "expected"),
    [(0, R), (69.9, R), (70, Y), (Decimal("70.0"), Y), (70.1, G), (100, G)],
)
def test_equal_thresholds_70(completion, expected):
    assert classify(completion, green_above=70, red_below=70) is expected


@pytest.mark.parametrize(("completion", "expected"), [(0, Y), (Decimal("0.0"), Y), (0.1, G), (50, G), (100, G)])
def test_thresholds_0_0(completion, expected):
    assert classify(completion, green_above=0, red_below=0) is expected


@pytest.mark.parametrize(("completion", "expected"), [(0, R), (50, R), (99.9, R), (100, Y), (Decimal("100.0"), Y)])
def test_thresholds_100_100(completion, expected):
    assert classify(completion, green_above=100, red_below=100) is expected


def test_thresholds_0_100_everything_yellow():
    for completion in (0, 0.1, 50, Decimal("99.99"), 100):
        assert classify(completion, green_above=100, red_below=0) is Y


def test_decimal_and_float_thresholds():
    assert classify(75, green_above=Decimal("74.5"), red_below=60.5) is G
    assert classify(Decimal("60.4"), green_above=Decimal("74.5"), red_below=60.5) is R
    assert classify(Decimal("60.5"), green_above=Decimal("74.5"), red_below=60.5) is Y
    assert classify(Decimal("74.5"), green_above=Decimal("74.5"), red_below=60.5) is Y


# --- Bad completion values -----------------------------------------------------------

BAD_VALUES = [
    None,
    math.nan,
    math.inf,
    -math.inf,
    -1,
    -0.1,
    100.1,
    101,
    Decimal("-0.0001"),
    Decimal("100.0001"),
    10**400,
    "80",
    "abc",
    "",
    b"80",
    True,
    False,
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    [],
    [80],
    (80,),
    {"completion": 80},
    object(),
    complex(80, 0),
]


def _stable_id(value):
    # a plain object's repr carries its address, which differs between xdist workers
    return "object()" if type(value) is object else repr(value)


@pytest.mark.parametrize("value", BAD_VALUES, ids=_stable_id)
def test_bad_completion_raises_with_repr(value):
    with pytest.raises(ValueError, match=r"^completion must be") as excinfo:
        classify(value)
    message = str(excinfo.value)
    assert repr(value) in message
    assert message.startswith("completion must be a finite number from 0 to 100")


def test_bad_completion_message_example():
    with pytest.raises(ValueError, match=r"^completion must be a finite number from 0 to 100, got 'abc'$"):
        classify("abc")


@pytest.mark.parametrize("value", [True, False])
def test_bool_rejected_even_with_thresholds_that_would_accept_it(value):
    with pytest.raises(ValueError, match=repr(value)):
        classify(value, green_above=0, red_below=0)


# --- Bad thresholds ------------------------------------------------------------------

BAD_THRESHOLD_VALUES = [
    -1,
    -0.1,
    100.1,
    Decimal("100.01"),
    math.nan,
    math.inf,
    -math.inf,
    Decimal("NaN"),
    Decimal("sNaN"),
    None,
    True,
    False,
    "80",
    [80],
]


@pytest.mark.parametrize("value", BAD_THRESHOLD_VALUES, ids=repr)
@pytest.mark.parametrize("name", ["green_above", "red_below"])
def test_bad_threshold_raises(name, value):
    kwargs = {"green_above": 80, "red_below": 60, name: value}
    for call in (
        lambda: validate_thresholds(**kwargs),
        lambda: classify(70, **kwargs),
    ):
        with pytest.raises(ValueError, match=name) as excinfo:
            call()
        message = str(excinfo.value)
        assert repr(value) in message


def test_both_thresholds_bad_names_both():
    with pytest.raises(ValueError, match="green_above") as excinfo:
        validate_thresholds(green_above=None, red_below="x")
    message = str(excinfo.value)
    assert "green_above must be a finite number from 0 to 100, got None" in message
    assert "red_below must be a finite number from 0 to 100, got 'x'" in message


@pytest.mark.parametrize(
    ("green_above", "red_below"),
    [(60, 80), (0, 0.1), (Decimal(70), Decimal("70.0001")), (99.9, 100)],
)
def test_red_below_greater_than_green_above_raises(green_above, red_below):
    for call in (
        lambda: validate_thresholds(green_above=green_above, red_below=red_below),
        lambda: classify(70, green_above=green_above, red_below=red_below),
    ):
        with pytest.raises(ValueError, match="red_below must be <= green_above") as excinfo:
            call()
        message = str(excinfo.value)
        assert f"red_below={red_below!r}" in message
        assert f"green_above={green_above!r}" in message


@pytest.mark.parametrize(
    ("green_above", "red_below"),
    [(80, 60), (70, 70), (0, 0), (100, 100), (100, 0), (Decimal("80.5"), 60.25)],
)
def test_valid_thresholds_pass(green_above, red_below):
    assert validate_thresholds(green_above=green_above, red_below=red_below) is None


def test_thresholds_are_keyword_only():
    with pytest.raises(TypeError):
        classify(70, 90, 50)  # type: ignore[misc]
    with pytest.raises(TypeError):
        validate_thresholds(80, 60)  # type: ignore[misc]


def test_thresholds_checked_before_completion():
    # A bad threshold is reported even when the completion is valid.
    with pytest.raises(ValueError, match="green_above"):
        classify(50, green_above=101)


# --- Property tests ------------------------------------------------------------------

float_pct = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)
decimal_pct = st.decimals(min_value=0, max_value=100, places=1)
any_pct = st.one_of(float_pct, decimal_pct, st.integers(min_value=0, max_value=100))


@st.composite
def thresholds(draw):
    a, b = sorted([draw(any_pct), draw(any_pct)])
    return {"green_above": b, "red_below": a}


@given(a=float_pct, b=float_pct, th=thresholds())
def test_monotonic_floats(a, b, th):
    hi, lo = max(a, b), min(a, b)
    assert RANK[classify(lo, **th)] <= RANK[classify(hi, **th)]


@given(a=decimal_pct, b=decimal_pct, th=thresholds())
def test_monotonic_decimals(a, b, th):
    hi, lo = max(a, b), min(a, b)
    assert RANK[classify(lo, **th)] <= RANK[classify(hi, **th)]


@given(a=any_pct, b=any_pct)
def test_monotonic_mixed_types_default_thresholds(a, b):
    hi, lo = (a, b) if a >= b else (b, a)
    assert RANK[classify(lo)] <= RANK[classify(hi)]


@given(x=any_pct, th=thresholds())
def test_matches_rule_definition(x, th):
    colour = classify(x, **th)
    if x > th["green_above"]:
        assert colour is G
    elif x < th["red_below"]:
        assert colour is R
    else:
        assert colour is Y


@given(x=decimal_pct)
def test_decimal_and_float_agree_for_one_decimal_place(x):
    # For one-decimal values the float rounding never crosses an integer threshold.
    assert classify(x) is classify(float(x))


# --- Module hygiene ------------------------------------------------------------------

COLOUR_SOURCE = Path(__file__).resolve().parent.parent / "lightboard" / "colour.py"


def _imported_top_level_modules():
    tree = ast.parse(COLOUR_SOURCE.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "colour.py must not use relative imports"
            names.add(node.module.split(".")[0])
    return names


def test_colour_module_imports_only_stdlib():
    names = _imported_top_level_modules()
    assert names, "expected at least one import"
    assert "django" not in names
    assert "lightboard" not in names
    assert names <= {"__future__", "enum", "math", "decimal", "numbers"}
    assert all(name in sys.stdlib_module_names for name in names)


def test_colour_module_source_does_not_mention_django_import():
    text = COLOUR_SOURCE.read_text(encoding="utf-8")
    assert "import django" not in text
    assert "from django" not in text
