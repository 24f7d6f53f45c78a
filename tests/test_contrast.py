"""The colours of static/css/site.css meet WCAG 2.1 AA: 4.5:1 for text (the lights' words, their
counts, the state badges, muted text, links), 3:1 for the lights' shapes against what is behind
them. Read from the stylesheet itself, so an edit that breaks a pair fails here."""

import re
from pathlib import Path

import pytest

from reports import charts

CSS = (Path(__file__).resolve().parent.parent / "static" / "css" / "site.css").read_text()
TEXT, LARGE_OR_SHAPE = 4.5, 3.0
LIGHTS = ("green", "yellow", "red", "missing")


def luminance(colour):
    """WCAG 2.1 relative luminance of #rgb or #rrggbb."""
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(digit * 2 for digit in hex_digits)
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one, other):
    """WCAG 2.1 contrast ratio, from 1 to 21."""
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _stylesheet():
    text = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    root = re.search(r":root\s*\{([^}]*)\}", text).group(1)
    variables = dict(re.findall(r"--([\w-]+)\s*:\s*([^;]+);", root))
    rules = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        pairs = (part.split(":", 1) for part in body.split(";") if ":" in part)
        declarations = {name.strip(): value.strip() for name, value in pairs}
        for selector in selectors.split(","):
            rules.setdefault(" ".join(selector.split()), {}).update(declarations)
    return variables, rules


VARIABLES, RULES = _stylesheet()


def resolve(value):
    """A colour as written in the stylesheet, var(--x) looked up in :root."""
    found = re.search(r"var\(--([\w-]+)", value)
    return resolve(VARIABLES[found.group(1)]) if found else value.strip()


def declared(selector, prop):
    return resolve(RULES[selector][prop])


PAPER, CANVAS, INK = resolve("var(--paper)"), resolve("var(--canvas)"), resolve("var(--ink)")


def test_the_ratio_function_gives_the_known_wcag_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    # the failures reported in issue 17
    assert contrast("#b7860b", "#fdf3d6") == pytest.approx(2.95, abs=0.01)
    assert contrast("#1f8a4c", "#e3f4ea") == pytest.approx(3.83, abs=0.01)
    assert contrast("#7a7f87", "#eef0f3") == pytest.approx(3.53, abs=0.01)


@pytest.mark.parametrize("light", LIGHTS)
def test_each_light_badges_word_is_readable_on_its_background(light):
    text, background = declared(f".light.{light}", "color"), declared(f".light.{light}", "background")
    assert contrast(text, background) >= TEXT, (light, text, background)


@pytest.mark.parametrize("light", LIGHTS)
def test_each_lights_shape_stands_out_from_its_badge_and_from_the_page(light):
    rule = RULES[f".light.{light}::before"]
    shape = resolve(rule["box-shadow"].split()[-1]) if light == "missing" else resolve(rule["background"])
    for behind in (declared(f".light.{light}", "background"), PAPER, CANVAS):
        assert contrast(shape, behind) >= LARGE_OR_SHAPE, (light, shape, behind)


@pytest.mark.parametrize("light", LIGHTS)
def test_the_earlier_stage_dots_number_is_readable_and_the_dot_stands_out(light):
    rule = RULES[f".light-dot.{light}"]
    number = resolve(RULES.get(f".light-dot.{light}", {}).get("color") or RULES[".light-dot"]["color"])
    if light == "missing":  # an empty ring: the number is on the page
        assert contrast(number, PAPER) >= TEXT
        shape = resolve(rule["box-shadow"].split()[-1])
    else:
        shape = resolve(rule["background"])
        assert contrast(number, shape) >= TEXT, (light, number, shape)
    assert contrast(shape, PAPER) >= LARGE_OR_SHAPE and contrast(shape, CANVAS) >= LARGE_OR_SHAPE


@pytest.mark.parametrize("light", LIGHTS)
def test_the_counts_of_each_light_are_readable(light):
    text = declared(f".count.{light}", "color")
    background = declared(f".count.{light}", "background") if "background" in RULES[f".count.{light}"] else None
    background = background or declared(".count", "background")
    assert contrast(text, background) >= TEXT, (light, text, background)


@pytest.mark.parametrize("name", ["green", "yellow", "red", "grey"])
def test_the_lights_text_colours_are_readable_on_the_page_and_on_each_tint(name):
    # --red is the error text, --yellow "due today", --green "improved", .c-green the heat-map counts …
    text = resolve(f"var(--{name})")
    for behind in (PAPER, CANVAS, *(resolve(f"var(--{tint}-bg)") for tint in ("green", "yellow", "red", "grey"))):
        assert contrast(text, behind) >= TEXT, (name, text, behind)


def test_every_state_badge_is_readable():
    badges = {selector: rule for selector, rule in RULES.items() if selector.startswith(".state-badge.")}
    assert len(badges) >= 8
    default_background = declared(".state-badge", "background")
    for selector, rule in badges.items():
        text = resolve(rule.get("color", "var(--ink)"))
        background = resolve(rule.get("background", default_background))
        assert contrast(text, background) >= TEXT, (selector, text, background)


def test_muted_text_links_and_the_menu_are_readable():
    muted, accent = resolve("var(--muted)"), resolve("var(--accent)")
    for behind in (PAPER, CANVAS, resolve("var(--grey-bg)"), "#e9edf3", resolve("var(--yellow-bg)")):
        assert contrast(muted, behind) >= TEXT, behind
        assert contrast(INK, behind) >= TEXT, behind
    for behind in (PAPER, CANVAS, resolve("var(--grey-bg)"), "#e4ecf8"):
        assert contrast(accent, behind) >= TEXT, behind
    assert contrast(declared('.site-nav a[aria-current="page"]', "color"), accent) >= TEXT
    assert contrast(declared(".badge", "color"), declared(".badge", "background")) >= TEXT  # unread count
    assert resolve(RULES["::placeholder"]["color"]) == muted


def test_the_charts_lines_bars_and_labels_stand_out_on_white():
    assert {
        "green": resolve("var(--green-dot)"),
        "yellow": resolve("var(--yellow-dot)"),
        "red": resolve("var(--red-dot)"),
    } == charts.FILL
    for colour in charts.FILL.values():
        assert contrast(colour, "#ffffff") >= LARGE_OR_SHAPE
        assert contrast("#ffffff", colour) >= LARGE_OR_SHAPE  # the white shape drawn on a bar
    assert contrast(charts.MUTED, "#ffffff") >= TEXT and contrast(charts.INK, "#ffffff") >= TEXT
