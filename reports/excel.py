"""Excel exports of the reports."""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from lightboard.lights import COLOUR_KEYS, label_of
from lightboard.xlsx import append_row

from .queries import TRANSITION_LABELS


def _save(workbook):
    for sheet in workbook.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def overview_workbook(overview):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(overview.year.year)
    header = [_("Department")]
    for number in overview.stage_numbers:
        header += [f"{_('Stage %(n)s') % {'n': number}} {label_of(colour)}" for colour in COLOUR_KEYS]
    append_row(sheet, header)
    for row in overview.rows:
        values = [row.department.name]
        for cell in row.cells:
            values += [cell.counts[colour] for colour in COLOUR_KEYS]
        append_row(sheet, values)
    sheet.column_dimensions["A"].width = 22
    return _save(workbook)


def scorecard_workbook(scorecard):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = scorecard.department.code
    append_row(
        sheet,
        [_("Task"), _("Owner"), _("Weight")]
        + [_("Stage %(n)s") % {"n": n} for n in scorecard.stage_numbers]
        + [_("Since the previous result")],
    )
    for row in scorecard.rows:
        append_row(
            sheet,
            [row.task.title, str(row.task.owner), float(row.task.weight)]
            + [float(score) if score is not None else None for score in row.scores]
            + [str(TRANSITION_LABELS.get(row.transition, ""))],
        )
    append_row(
        sheet, [_("Weighted average"), "", ""] + [float(a) if a is not None else None for a in scorecard.averages]
    )
    sheet.column_dimensions["A"].width = 30
    return _save(workbook)
