"""Fill a .po catalogue from a Python dict of msgid -> translation (a translator's aid).

Usage: python scripts/fill_translations.py locale/zh_Hans/LC_MESSAGES/django.po TABLE.py
       python scripts/fill_translations.py --english locale/en/LC_MESSAGES/django.po
TABLE.py defines ZH = {msgid: msgstr} and optionally PLURALS = {msgid: msgstr} for
messages with a plural form (Chinese has one form). Translated entries are left alone;
fuzzy ones (msgmerge's guesses) are replaced.
"""

import runpy
import sys

import polib


def main(po_path, table_path):
    namespace = runpy.run_path(table_path)
    table, plurals = namespace["ZH"], namespace.get("PLURALS", {})
    catalogue = polib.pofile(po_path)
    missing = []
    for entry in catalogue:
        translated = entry.msgstr_plural.get(0) if entry.msgid_plural else entry.msgstr
        if translated and not entry.fuzzy:
            continue
        if entry.msgid_plural and entry.msgid in plurals:
            entry.msgstr_plural = {0: plurals[entry.msgid]}
        elif not entry.msgid_plural and entry.msgid in table:
            entry.msgstr = table[entry.msgid]
        else:
            missing.append(entry.msgid)
            continue
        if entry.fuzzy:
            entry.flags.remove("fuzzy")
            entry.previous_msgid = None
    catalogue.save()
    for msgid in missing:
        print(f"untranslated: {msgid!r}")


def fill_english(po_path):
    """The English catalogue: the source strings are English, so each msgstr is its msgid."""
    catalogue = polib.pofile(po_path)
    for entry in catalogue:
        if entry.msgid_plural:
            entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
        else:
            entry.msgstr = entry.msgid
        if entry.fuzzy:
            entry.flags.remove("fuzzy")
    catalogue.save()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--english"]:
        fill_english(sys.argv[2])
    else:
        main(*sys.argv[1:])
