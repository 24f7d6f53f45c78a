"""Reading what people type or paste, the same way everywhere."""

import re
import unicodedata
from decimal import Decimal

_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def one_line(text):
    """The text on one line: line breaks (an Excel cell's Alt+Enter) and runs of spaces become
    one space. Titles and e-mail subjects are one line."""
    return " ".join(str(text or "").split())


def read_number(text, *, percent=False):
    """A number as a person types it on any keyboard: full-width digits and point (１００．５) read
    as their ASCII forms, surrounding spaces ignored, and with `percent` one trailing % (or ％).
    Anything else (1e1, 1_0, 1,5, NaN, ٨٠, 八十) raises ValueError: a number is written plainly."""
    plain = unicodedata.normalize("NFKC", str(text)).strip()
    if percent:
        plain = plain.removesuffix("%").rstrip()
    if not _PLAIN_NUMBER.fullmatch(plain):
        raise ValueError(f"not a plain number: {text!r}")
    return Decimal(plain)
