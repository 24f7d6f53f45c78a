"""Fill a .po catalogue from a Python dict of msgid -> translation (a translator's aid).

Usage: python scripts/fill_translations.py locale/zh_Hans/LC_MESSAGES/django.po TABLE.py
TABLE.py defines ZH = {msgid: msgstr}. Entries already translated are left alone.
"""

import runpy
import sys

import polib


def main(po_path, table_path):
    table = runpy.run_path(table_path)["ZH"]
    catalogue = polib.pofile(po_path)
    missing = []
    for entry in catalogue:
        if entry.msgstr:
            continue
        if entry.msgid in table:
            entry.msgstr = table[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        else:
            missing.append(entry.msgid)
    catalogue.save()
    for msgid in missing:
        print(f"untranslated: {msgid!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
