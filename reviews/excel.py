"""Excel exports of the reviews app."""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from lightboard.lights import label_of


def minutes_workbook(minutes):
    """The meeting minutes as a workbook: summary, follow-up list, commendation list."""
    meeting = minutes.meeting
    workbook = Workbook()
    summary = workbook.active
    summary.title = _("Summary")
    summary.append([_("Meeting minutes"), str(meeting)])
    summary.append([_("Date"), meeting.date.isoformat()])
    summary.append([_("Place"), meeting.place])
    summary.append([_("Attendees"), "、".join(str(user) for user in minutes.attendees)])
    for key in ("green", "yellow", "red"):
        summary.append([str(label_of(key)), minutes.counts.get(key, 0)])
    summary["A1"].font = Font(bold=True)

    follow = workbook.create_sheet(_("Red and yellow"))
    follow.append(
        [
            _("Department"),
            _("Task"),
            _("Owner"),
            _("Final score"),
            _("Light"),
            _("Handling decision"),
            _("Next stage's key work"),
        ]
    )
    for rating in minutes.follow_up:
        follow.append(
            [
                rating.task.department.name,
                rating.task.title,
                str(rating.task.owner),
                float(rating.final_score),
                str(label_of(rating.colour)),
                rating.decision,
                rating.next_stage_target,
            ]
        )
    commended = workbook.create_sheet(_("Commendation list"))
    commended.append([_("Department"), _("Task"), _("Owner"), _("Final score")])
    for rating in minutes.commended:
        commended.append(
            [rating.task.department.name, rating.task.title, str(rating.task.owner), float(rating.final_score)]
        )
    for sheet in (follow, commended):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for column in "ABCDEFG":
            sheet.column_dimensions[column].width = 24
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
