"""Excel exports of the reviews app."""

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from lightboard.lights import label_of
from lightboard.xlsx import append_row


def minutes_workbook(minutes):
    """The meeting minutes as a workbook: summary, follow-up list, commendation list."""
    meeting = minutes.meeting
    workbook = Workbook()
    summary = workbook.active
    summary.title = _("Summary")
    append_row(summary, [_("Meeting minutes"), str(meeting)])
    append_row(summary, [_("Date"), meeting.date.isoformat()])
    append_row(summary, [_("Place"), meeting.place])
    append_row(summary, [_("Attendees"), "、".join(str(user) for user in minutes.attendees)])
    for key in ("green", "yellow", "red"):
        append_row(summary, [str(label_of(key)), minutes.counts.get(key, 0)])
    summary["A1"].font = Font(bold=True)

    follow = workbook.create_sheet(_("Red and yellow"))
    append_row(
        follow,
        [
            _("Department"),
            _("Task"),
            _("Owner"),
            _("Final score"),
            _("Light"),
            _("Handling decision"),
            _("Next stage's key work"),
        ],
    )
    for rating in minutes.follow_up:
        append_row(
            follow,
            [
                rating.task.department.name,
                rating.task.title,
                str(rating.task.owner),
                float(rating.final_score),
                str(label_of(rating.colour)),
                rating.decision,
                rating.next_stage_target,
            ],
        )
    commended = workbook.create_sheet(_("Commendation list"))
    append_row(commended, [_("Department"), _("Task"), _("Owner"), _("Final score")])
    for rating in minutes.commended:
        append_row(
            commended,
            [rating.task.department.name, rating.task.title, str(rating.task.owner), float(rating.final_score)],
        )
    instructions = workbook.create_sheet(_("Instructions"))
    append_row(instructions, [_("Department"), _("Task"), _("Instruction"), _("Given by"), _("Date")])
    for comment in minutes.instructions:
        append_row(
            instructions,
            [
                comment.task.department.name,
                comment.task.title,
                comment.text,
                str(comment.instructed_by),
                timezone.localdate(comment.instructed_at).isoformat(),
            ],
        )
    changes = workbook.create_sheet(_("Changes"))
    append_row(changes, [_("Task"), _("What to change"), _("Before"), _("After"), _("Reason"), _("Decided by")])
    for item in minutes.changes:
        append_row(
            changes,
            [
                item.task.title,
                str(item.get_kind_display()) + (f" · {item.stage}" if item.stage else ""),
                str(item.before or ""),
                str(item.after or ""),
                item.reason,
                str(item.decided_by),
            ],
        )
    for sheet in (follow, commended, instructions, changes):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for column in "ABCDEFG":
            sheet.column_dimensions[column].width = 24
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
