"""Every string marked for translation, in Python code and in templates, has a Simplified
Chinese translation in locale/zh_Hans; the catalogues compile without GNU gettext.

The msgids are extracted here the way `makemessages` would (xgettext's keywords for Python,
Django's own `templatize` for templates), without needing gettext on the machine."""

import ast
import gettext as gnu_gettext
import re
import shutil
from pathlib import Path

import django
import polib
import pytest
from django.core.management import call_command
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parent.parent
PYTHON_PACKAGES = ["lightboard", "outbox", "tasks", "reviews", "reports"]
TEMPLATES = ROOT / "templates"
CHINESE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ENGLISH = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"

# Keyword -> positions of (context, singular, plural) among the call's arguments, as in the
# xgettext keywords Django's makemessages passes.
KEYWORDS = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}


def _string(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def msgids_in_python(source, where="<string>"):
    """(context, msgid, plural) of every translation call with literal strings."""
    found = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name not in KEYWORDS:
            continue
        context_at, singular_at, plural_at = KEYWORDS[name]
        args = node.args
        if len(args) <= singular_at or (plural_at is not None and len(args) <= plural_at):
            continue
        msgid = _string(args[singular_at])
        context = _string(args[context_at]) if context_at is not None else None
        plural = _string(args[plural_at]) if plural_at is not None else None
        if msgid is None or (context_at is not None and context is None):
            continue  # a variable: nothing to extract (makemessages would skip it too)
        found.setdefault((context, msgid, plural), f"{where}:{node.lineno}")
    return found


def python_msgids():
    found = {}
    for package in PYTHON_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for key, where in msgids_in_python(path.read_text(encoding="utf-8"), path.relative_to(ROOT)).items():
                found.setdefault(key, where)
    return found


# In templatize's output every translatable text is a call with Python string literals:
#  gettext(u'...'), ngettext(u'...', u'...', count), pgettext(u'ctx', u'...'),
#  npgettext(u'ctx', u'...', u'...', count), and _(...) for _("...") in variables and tags.
_LITERAL = r"""[rRuUbB]{0,2}(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
_CALL = re.compile(rf"(?<![\w.])(npgettext|pgettext|ngettext|gettext|_)\(\s*((?:{_LITERAL}\s*,\s*)*{_LITERAL})")


def msgids_in_template(source, where="<template>"):
    found = {}
    output = templatize(source)
    for match in _CALL.finditer(output):
        name = match.group(1)
        literals = ast.literal_eval(f"({match.group(2)},)")
        if name == "npgettext":
            key = (literals[0], literals[1], literals[2] if len(literals) > 2 else None)
        elif name == "pgettext":
            key = (literals[0], literals[1], None)
        elif name == "ngettext":
            key = (None, literals[0], literals[1] if len(literals) > 1 else None)
        else:
            key = (None, literals[0], None)
        line = output.count("\n", 0, match.start()) + 1  # templatize keeps the template's lines
        found.setdefault(key, f"{where}:{line}")
    return found


def template_msgids():
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        for key, where in msgids_in_template(path.read_text(encoding="utf-8"), path.relative_to(ROOT)).items():
            found.setdefault(key, where)
    return found


def translated(path):
    """(context, msgid) of every entry of a catalogue with a complete, non-fuzzy translation."""
    done = set()
    for entry in polib.pofile(str(path)):
        if entry.obsolete or entry.fuzzy:
            continue
        complete = all(entry.msgstr_plural.values()) if entry.msgid_plural else bool(entry.msgstr)
        if complete:
            done.add((entry.msgctxt, entry.msgid))
    return done


def django_translated():
    """What Django translates itself into Simplified Chinese (core and contrib apps)."""
    base = Path(django.__file__).resolve().parent
    done = set()
    for path in [
        base / "conf" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",
        *sorted(base.glob("contrib/*/locale/zh_Hans/LC_MESSAGES/django.po")),
    ]:
        if path.exists():
            done |= translated(path)
    return done


# --- the extractor finds what makemessages finds ------------------------------------------


def test_the_python_extractor_finds_calls_aliases_choices_and_contexts():
    source = """
from django.utils.translation import gettext_lazy as _, ngettext, pgettext_lazy
from django.utils import translation

class Kind(models.TextChoices):
    A = "a", _("Reminder sent")

label = _("Two " "parts")
many = ngettext("%(n)s task", "%(n)s tasks", n)
month = pgettext_lazy("month name", "May")
other = translation.gettext("Via the module")
skipped = _(variable), f"{x}", gettext_lazy(f"no {x}")
"""
    assert set(msgids_in_python(source)) == {
        (None, "Reminder sent", None),
        (None, "Two parts", None),
        (None, "%(n)s task", "%(n)s tasks"),
        ("month name", "May", None),
        (None, "Via the module", None),
    }


def test_the_template_extractor_yields_the_msgids_of_makemessages():
    source = """{% load i18n %}
<h1>{% translate "My tasks" %}</h1>
<p>{% translate "It's 100% done" %}</p>
{% translate "May" context "month name" %}
{% blocktranslate with number=stage.number %}Self-assessment, stage {{ number }}{% endblocktranslate %}
{% blocktranslate count days=days_left %}{{ days }} day left{% plural %}{{ days }} days left{% endblocktranslate %}
{% blocktranslate trimmed with name=user %}
  Hello
  {{ name }}
{% endblocktranslate %}
{{ value|default:_("nothing") }}
<p>Plain text with 'quotes' is not extracted.</p>
"""
    assert set(msgids_in_template(source)) == {
        (None, "My tasks", None),
        (None, "It's 100%% done", None),
        ("month name", "May", None),
        (None, "Self-assessment, stage %(number)s", None),
        (None, "%(days)s day left", "%(days)s days left"),
        (None, "Hello %(name)s", None),
        (None, "nothing", None),
    }


def test_on_this_tree_the_extractors_find_the_strings_we_know():
    python, templates = python_msgids(), template_msgids()
    assert (None, "My tasks", None) in python  # lightboard/navigation.py
    assert (None, "Reminder sent", None) in python  # a TextChoices label of reviews/models.py
    assert (None, "Likely red", None) in python  # reports/queries.py
    assert not any("migrations" in where for where in python.values())
    assert (None, "My tasks", None) in templates
    assert (None, "Self-assessment, stage %(number)s", None) in templates
    assert (None, "%(days)s day left", "%(days)s days left") in templates
    assert (None, "Stage %(n)s", None) in templates  # reports: {% blocktranslate %}Stage {{ n }}
    assert (None, "Year overview %(year)s", None) in templates
    # Every extracted msgid of the old screens is in the catalogue: the extractor invents nothing.
    catalogue = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(CHINESE))}
    assert (None, "%(days)s day left") in catalogue and (None, "Self-assessment, stage %(number)s") in catalogue


# --- the catalogues -----------------------------------------------------------------------


def missing_translations(catalogue=CHINESE):
    """(where, msgid) of every marked string without a complete Simplified Chinese translation,
    neither in our catalogue nor in Django's own."""
    wanted = {**template_msgids(), **python_msgids()}
    have = translated(catalogue) | django_translated()
    return sorted(
        (where, msgid if context is None else f"{context}|{msgid}")
        for (context, msgid, _plural), where in wanted.items()
        if (context, msgid) not in have
    )


def test_every_marked_string_has_a_simplified_chinese_translation():
    missing = missing_translations()
    assert not missing, f"{len(missing)} marked strings have no Simplified Chinese translation:\n" + "\n".join(
        f"  {where}: {msgid!r}" for where, msgid in missing
    )


def test_a_missing_fuzzy_or_half_translated_entry_is_reported(tmp_path):
    catalogue = polib.pofile(str(CHINESE))
    catalogue.remove(catalogue.find("Likely red"))
    catalogue.find("Scorecard").flags.append("fuzzy")
    plural = catalogue.find("%(days)s day left")
    plural.msgstr_plural = {0: ""}
    catalogue.find("Reminder sent").msgstr = ""
    broken = tmp_path / "django.po"
    catalogue.save(str(broken))
    missing = {msgid: where for where, msgid in missing_translations(broken)}
    assert set(missing) == {"%(days)s day left", "Likely red", "Reminder sent", "Scorecard"}
    assert missing["Likely red"].startswith("reports/queries.py:")
    assert missing["%(days)s day left"].startswith("templates/tasks/my_tasks.html:")


def test_the_catalogues_ship_and_compile_without_gnu_gettext(tmp_path, settings):
    assert ENGLISH.exists() and CHINESE.exists()
    for path in (ENGLISH, CHINESE):
        assert not polib.pofile(str(path)).metadata_is_fuzzy
    copy = tmp_path / "locale"
    shutil.copytree(ROOT / "locale", copy, ignore=shutil.ignore_patterns("*.mo"))
    settings.LOCALE_PATHS = [copy]
    call_command("compile_catalogues", verbosity=0)
    for language in ("en", "zh_Hans"):
        assert (copy / language / "LC_MESSAGES" / "django.mo").exists(), language
    chinese = gnu_gettext.GNUTranslations(open(copy / "zh_Hans" / "LC_MESSAGES" / "django.mo", "rb"))  # noqa: SIM115
    assert chinese.gettext("My tasks") == polib.pofile(str(CHINESE)).find("My tasks").msgstr
    assert chinese.ngettext("%(days)s day left", "%(days)s days left", 3) == "剩余 %(days)s 天"


@pytest.mark.parametrize("path", [CHINESE, ENGLISH])
def test_the_catalogues_parse(path):
    assert len(polib.pofile(str(path))) > 100


def test_the_english_catalogue_is_complete_too():
    import polib

    english = polib.pofile(str(Path(__file__).resolve().parent.parent / "locale" / "en" / "LC_MESSAGES" / "django.po"))
    chinese = polib.pofile(
        str(Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    )
    assert {entry.msgid for entry in english} == {entry.msgid for entry in chinese}
    assert [entry.msgid for entry in english if entry.fuzzy or not (entry.msgstr or entry.msgstr_plural)] == []
