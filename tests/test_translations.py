"""The Chinese catalogue ships complete: no string falls back to English."""

from pathlib import Path

import polib

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_message_has_a_simplified_chinese_translation():
    catalogue = polib.pofile(str(CATALOGUE))
    untranslated = [
        entry.msgid
        for entry in catalogue
        if entry.fuzzy or not (all(entry.msgstr_plural.values()) if entry.msgid_plural else entry.msgstr)
    ]
    assert untranslated == []
    assert not catalogue.metadata_is_fuzzy
