"""Excel round trip of a department's key task list: a blank template, an export of the
list and an all-or-nothing import of a filled-in file.

The workbook format is Chinese: its column headers (任务名称, 完成标准 …) are part of the
format the import matches on, so they and the instruction sheet are not translated.
Messages about a rejected file go through gettext like every other message.

An upload is untrusted. Before openpyxl sees it, the file's size and its zip central
directory are checked (nothing is decompressed for that); openpyxl then parses the XML
through defusedxml and streams the task sheet in read-only mode, stopping at the row limit.
"""

import contextlib
import datetime
import io
import logging
import os
import re
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import openpyxl
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from lightboard.text import one_line, read_number
from lightboard.xlsx import set_value

from . import access, services
from .models import STAGES_PER_YEAR, Department, KeyTask, TaskList

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_ROWS = 5000
# A single zip member over this size may not be compressed more than MAX_COMPRESSION_RATIO:1.
RATIO_CHECKED_ABOVE_BYTES = 1024 * 1024
MAX_COMPRESSION_RATIO = 100
# Rows read below the header, blank ones included (formatted empty rows, gaps), before
# the import gives up: bounds the work on a sheet of a million empty rows.
MAX_SCANNED_ROWS = 20 * MAX_ROWS
# Header cells looked at in the first row.
MAX_HEADER_COLUMNS = 100

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TASK_SHEET = "重点任务"
HELP_SHEET = "说明"
MEMBERS_SHEET = "责任人"

COL_TITLE = "任务名称"
COL_STANDARD = "完成标准"
COL_OWNER = "责任人"
COL_DEADLINE = "完成时限"
COL_WEIGHT = "权重"
COL_COOPERATING = "配合部门"


def target_column(number):
    """The header of the column holding the target of stage `number`."""
    return f"第{number}阶段目标"


TARGET_COLUMNS = [target_column(n) for n in range(1, STAGES_PER_YEAR + 1)]
COLUMNS = [
    COL_TITLE,
    COL_STANDARD,
    COL_OWNER,
    COL_DEADLINE,
    COL_WEIGHT,
    COL_COOPERATING,
    *TARGET_COLUMNS,
]
# services.validate_task_fields' field keys -> the column the user fixes.
FIELD_COLUMNS = {
    "title": COL_TITLE,
    "standard": COL_STANDARD,
    "owner": COL_OWNER,
    "deadline": COL_DEADLINE,
    "weight": COL_WEIGHT,
    **{f"target_{n}": target_column(n) for n in range(1, STAGES_PER_YEAR + 1)},
}
COLUMN_WIDTHS = {
    COL_TITLE: 30,
    COL_STANDARD: 40,
    COL_OWNER: 14,
    COL_DEADLINE: 13,
    COL_WEIGHT: 8,
    COL_COOPERATING: 16,
    **dict.fromkeys(TARGET_COLUMNS, 28),
}
WRAPPED_COLUMNS = {COL_TITLE, COL_STANDARD, *TARGET_COLUMNS}
COOPERATING_SEPARATOR = "、"
DEFAULT_WEIGHT = Decimal(1)


# --- results and errors ----------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem of an uploaded file. `row` is the row number Excel shows (None for a
    problem of the whole file), `column` the header of the column to fix (or None)."""

    row: int | None
    column: str | None
    message: str

    def __str__(self):
        values = {"row": self.row, "column": self.column, "message": self.message}
        if self.row is not None and self.column:
            return _("Row %(row)s [%(column)s]: %(message)s") % values
        if self.row is not None:
            return _("Row %(row)s: %(message)s") % values
        return str(self.message)


class ImportRejected(Exception):
    """The file was refused and nothing was saved; `errors` lists every problem found."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _file_error(message):
    return ImportRejected([RowError(None, None, message)])


# --- building workbooks ----------------------------------------------------------------

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAPPED = Alignment(vertical="top", wrap_text=True)
TOP = Alignment(vertical="top")
DATE_FORMAT = "yyyy-mm-dd"


def build_template(task_list):
    """A blank workbook for filling in `task_list`: the task sheet with its header, the
    instructions and the department's members."""
    return _build_workbook(task_list, tasks=())


def export_task_list(task_list):
    """The list's tasks in the import format (owner as username), in the list's order.
    Importing the file into the same draft list changes nothing."""
    tasks = (
        KeyTask.objects.filter(year=task_list.year, department=task_list.department)
        .select_related("owner")
        .prefetch_related("cooperating_departments", "targets__stage")
        .order_by("id")
    )
    return _build_workbook(task_list, tasks=tasks)


def export_filename(task_list, *, template=False):
    """A download name such as "SCB-2026-重点任务.xlsx" (or "…-模板.xlsx")."""
    suffix = "重点任务模板" if template else "重点任务"
    return f"{task_list.department.code}-{task_list.year.year}-{suffix}.xlsx"


def _task_values(task):
    targets = {target.stage.number: target.description for target in task.targets.all()}
    return {
        COL_TITLE: task.title,
        COL_STANDARD: task.standard,
        COL_OWNER: task.owner.username,
        COL_DEADLINE: task.deadline,
        COL_WEIGHT: task.weight,
        COL_COOPERATING: COOPERATING_SEPARATOR.join(
            department.code for department in task.cooperating_departments.all()
        ),
        **{target_column(n): targets.get(n, "") for n in range(1, STAGES_PER_YEAR + 1)},
    }


def _set_cell(sheet, row, column, value):
    # Text stays text: never a formula (or an error value) in someone's Excel.
    return set_value(sheet.cell(row=row, column=column), value)


def _build_workbook(task_list, *, tasks):
    year = task_list.year.year
    department = task_list.department
    members = list(department.members.order_by("username"))

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = TASK_SHEET
    for index, header in enumerate(COLUMNS, start=1):
        cell = _set_cell(sheet, 1, index, header)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT
        sheet.column_dimensions[get_column_letter(index)].width = COLUMN_WIDTHS[header]
    sheet.column_dimensions[_letter(COL_DEADLINE)].number_format = DATE_FORMAT
    sheet.freeze_panes = "A2"

    for row, task in enumerate(tasks, start=2):
        values = _task_values(task)
        for index, header in enumerate(COLUMNS, start=1):
            cell = _set_cell(sheet, row, index, values[header])
            cell.alignment = WRAPPED if header in WRAPPED_COLUMNS else TOP
            if header == COL_DEADLINE:
                cell.number_format = DATE_FORMAT

    _add_validations(sheet, year=year, member_count=len(members))
    _add_help_sheet(workbook.create_sheet(HELP_SHEET), task_list)
    _add_members_sheet(workbook.create_sheet(MEMBERS_SHEET), members)
    workbook.active = 0

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _letter(header):
    return get_column_letter(COLUMNS.index(header) + 1)


def _column_range(header):
    letter = _letter(header)
    return f"{letter}2:{letter}{MAX_ROWS + 1}"


def _add_validations(sheet, *, year, member_count):
    """Hints in Excel itself; the import checks everything again."""
    if member_count:
        owners = DataValidation(
            type="list",
            formula1=f"'{MEMBERS_SHEET}'!$A$2:$A${member_count + 1}",
            allow_blank=True,
            showErrorMessage=False,  # a full name is fine too
        )
        owners.add(_column_range(COL_OWNER))
        sheet.add_data_validation(owners)
    deadline = DataValidation(
        type="date",
        operator="between",
        formula1=f"DATE({year},1,1)",
        formula2=f"DATE({year},12,31)",
        allow_blank=True,
        errorStyle="warning",
        showErrorMessage=True,
        errorTitle="完成时限",
        error=f"完成时限须在{year}年内。",
    )
    deadline.add(_column_range(COL_DEADLINE))
    sheet.add_data_validation(deadline)
    weight = DataValidation(
        type="decimal",
        operator="greaterThan",
        formula1="0",
        allow_blank=True,
        errorStyle="warning",
        showErrorMessage=True,
        errorTitle="权重",
        error="权重须为正数。",
    )
    weight.add(_column_range(COL_WEIGHT))
    sheet.add_data_validation(weight)


def _add_help_sheet(sheet, task_list):
    year = task_list.year.year
    department = task_list.department
    lines = [
        f"{department.name}（{department.code}）{year}年重点任务清单：填写说明",
        "",
        f"1. 在“{TASK_SHEET}”表中每行填写一项任务。第一行是表头，请勿修改表头文字。空行会被忽略。",
        f"2. {COL_TITLE}：必填，同一清单内不能重复，不超过200字。导入时按任务名称匹配："
        "清单中已有同名任务的会被更新，没有的会新建；文件中没有的任务保持不变。",
        f"3. {COL_STANDARD}：必填，写明怎样才算完成。",
        f"4. {COL_OWNER}：必填，填写本部门成员的用户名或姓名（见“{MEMBERS_SHEET}”表）；有重名时请填用户名。",
        f"5. {COL_DEADLINE}：必填，须在{year}年内；可填日期，"
        f"或 {year}-06-30、{year}/6/30、{year}年6月30日 这样的文字。",
        f"6. {COL_WEIGHT}：正数，最多两位小数；留空按 1 计。",
        f"7. {COL_COOPERATING}：选填，填写部门代码（见下表），多个代码用逗号或顿号分隔。",
        f"8. {target_column(1)}至{target_column(STAGES_PER_YEAR)}：每个阶段的目标均为必填。",
        "9. 只有草稿状态的清单可以导入。导入要么全部保存，要么一条也不保存："
        "任何一行有错，系统会列出所有错误的行号、列名和原因，改正后重新上传即可。",
        f"10. 文件不超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB，任务不超过 {MAX_ROWS} 行。",
        "",
    ]
    for row, line in enumerate(lines, start=1):
        _set_cell(sheet, row, 1, line)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)

    start = len(lines) + 1
    for index, header in enumerate(("部门代码", "部门名称"), start=1):
        cell = _set_cell(sheet, start, index, header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for row, (code, name) in enumerate(
        Department.objects.order_by("code").values_list("code", "name"), start=start + 1
    ):
        _set_cell(sheet, row, 1, code)
        _set_cell(sheet, row, 2, name)
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 30


def _add_members_sheet(sheet, members):
    for index, header in enumerate(("用户名", "姓名"), start=1):
        cell = _set_cell(sheet, 1, index, header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for row, member in enumerate(members, start=2):
        _set_cell(sheet, row, 1, member.username)
        _set_cell(sheet, row, 2, member.name or member.get_full_name())
    sheet.column_dimensions["A"].width = 20
    sheet.column_dimensions["B"].width = 16
    sheet.freeze_panes = "A2"


# --- reading an upload -----------------------------------------------------------------


@dataclass
class _Row:
    number: int  # as Excel shows it
    values: dict  # header -> raw cell value


def _invalid_file():
    return _file_error(_("The file is not a valid .xlsx workbook; save it from Excel as .xlsx."))


def _check_size(size):
    if size > MAX_UPLOAD_BYTES:
        raise _file_error(_("The file is larger than %(max)s MB.") % {"max": MAX_UPLOAD_BYTES // (1024 * 1024)})


@contextlib.contextmanager
def _opened(file):
    """A seekable binary handle on `file` (a path, an UploadedFile or a binary file),
    after checking its size without reading it."""
    if isinstance(file, str | os.PathLike):
        try:
            handle = open(file, "rb")  # noqa: SIM115 - closed below, around the yield
        except OSError:
            raise _file_error(_("The file cannot be read.")) from None
        with handle:
            _check_size(os.fstat(handle.fileno()).st_size)
            yield handle
        return
    seekable = getattr(file, "seekable", None)
    if callable(seekable) and seekable():
        file.seek(0, os.SEEK_END)
        _check_size(file.tell())
        file.seek(0)
        yield file
        return
    size = getattr(file, "size", None)
    if isinstance(size, int):
        _check_size(size)
    # A stream that cannot seek: copy at most the size limit to a (spooled) temporary file.
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        copied = 0
        while chunk := file.read(64 * 1024):
            copied += len(chunk)
            _check_size(copied)
            spool.write(chunk)
        spool.seek(0)
        yield spool


def _check_archive(handle):
    """Refuse what is not a zip, or whose central directory promises too much data.
    Reads only the central directory; zipfile never yields more than a member's declared
    size, so these declared sizes bound what openpyxl can decompress later."""
    try:
        with zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
    except Exception:  # BadZipFile, but also OSError/ValueError/EOFError on odd bytes
        raise _invalid_file() from None
    if sum(member.file_size for member in members) > MAX_UNCOMPRESSED_BYTES:
        raise _file_error(
            _("The file unpacks to more than %(max)s MB; it is not a normal task list.")
            % {"max": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)}
        )
    for member in members:
        if member.file_size > RATIO_CHECKED_ABOVE_BYTES and member.file_size > MAX_COMPRESSION_RATIO * max(
            member.compress_size, 1
        ):
            raise _file_error(
                _("The file holds a part compressed more than %(ratio)s:1; it is not a normal task list.")
                % {"ratio": MAX_COMPRESSION_RATIO}
            )
    if "[Content_Types].xml" not in {member.filename for member in members}:
        raise _invalid_file()


def _header_key(value):
    if value is None:
        return ""
    return re.sub(r"\s+", "", str(value)).lstrip("*＊")


def _is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _read_rows(file, progress=None):
    """The non-blank rows below the header of the task sheet, after the file checks."""
    with _opened(file) as handle:
        _check_archive(handle)
        handle.seek(0)
        if not openpyxl.DEFUSEDXML:
            raise ImproperlyConfigured(
                "openpyxl must parse uploads with defusedxml: install it and leave OPENPYXL_DEFUSEDXML unset."
            )
        try:
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False)
        except Exception:
            logger.info("Rejected an unreadable .xlsx upload", exc_info=True)
            raise _invalid_file() from None
        try:
            return _read_task_sheet(workbook, progress)
        except ImportRejected:
            raise
        except Exception:  # a damaged part found while streaming (zlib, CRC, XML …)
            logger.info("Rejected a damaged .xlsx upload", exc_info=True)
            raise _invalid_file() from None
        finally:
            workbook.close()


PROGRESS_EVERY = 100  # rows between two progress reports


def _read_task_sheet(workbook, progress=None):
    sheet = workbook[TASK_SHEET] if TASK_SHEET in workbook.sheetnames else workbook.worksheets[0]
    # Declared dimensions may lie (or claim a million rows); stream what is really there.
    sheet.reset_dimensions()

    header_rows = sheet.iter_rows(min_row=1, max_row=1, max_col=MAX_HEADER_COLUMNS, values_only=True)
    header = next(header_rows, ())
    header_rows.close()
    positions = {}
    for index, value in enumerate(header):
        key = _header_key(value)
        if key in COLUMNS and key not in positions:
            positions[key] = index
    missing = [column for column in COLUMNS if column not in positions]
    if missing:
        raise ImportRejected(
            [
                RowError(
                    1,
                    None,
                    _("The first row of sheet %(sheet)s lacks the columns %(columns)s.")
                    % {"sheet": sheet.title, "columns": "、".join(missing)},
                )
            ]
        )

    width = max(positions.values()) + 1
    rows = []
    stream = sheet.iter_rows(min_row=2, max_col=width, values_only=True)
    try:
        for scanned, values in enumerate(stream, start=1):
            if scanned > MAX_SCANNED_ROWS:
                raise _file_error(
                    _(
                        "The sheet has too many rows, most of them empty; delete the empty "
                        "rows below the list and try again."
                    )
                )
            if all(_is_blank(value) for value in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise _file_error(
                    _("The sheet has more than %(max)s task rows; split it into several files.") % {"max": MAX_ROWS}
                )
            number = scanned + 1
            rows.append(_Row(number, {column: values[positions[column]] for column in COLUMNS}))
            if progress is not None and len(rows) % PROGRESS_EVERY == 0:
                progress(len(rows))
    finally:
        stream.close()
    return rows


# --- cell values -----------------------------------------------------------------------

DATE_TEXT = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
COMPACT_DATE_TEXT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
CODE_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _text(value):
    """A cell as trimmed text."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = str(value).upper()
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, datetime.datetime):
        text = value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    elif isinstance(value, datetime.date):
        text = value.isoformat()
    else:
        text = str(value)
    # PostgreSQL text cannot hold NUL.
    return text.replace("\x00", "").strip()


def _shown(value, limit=40):
    text = _text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_date(value):
    """A deadline cell as a date: an Excel date, or text like 2026-06-30, 2026/6/30,
    2026年6月30日 or 20260630. None for a blank cell; ValueError for anything else."""
    if _is_blank(value):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(value)
    text = str(value).strip()
    match = DATE_TEXT.match(text) or COMPACT_DATE_TEXT.match(text)
    if not match:
        raise ValueError(value)
    year, month, day = (int(part) for part in match.groups())
    return datetime.date(year, month, day)  # ValueError for 2026-02-30


def parse_weight(value):
    """A weight cell as a Decimal; DEFAULT_WEIGHT when blank; None when not a finite number."""
    if _is_blank(value):
        return DEFAULT_WEIGHT
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = read_number(value)  # as the forms read it: １．５ yes, 1e1 or 1_0 no
        except ValueError:
            return None
    else:
        return None
    return number if number.is_finite() else None


def _field_error(model_field, value):
    """The first message of the model field's own validators (length, digits), or None."""
    try:
        KeyTask._meta.get_field(model_field).run_validators(value)
    except ValidationError as error:
        return error.messages[0]
    return None


# --- importing -------------------------------------------------------------------------


@dataclass
class _Plan:
    row: int
    task: KeyTask | None
    fields: dict


class _RowChecker:
    """Turns raw rows into save_task arguments, collecting every problem."""

    def __init__(self, task_list):
        self.task_list = task_list
        department = task_list.department
        self.members = list(department.members.all())
        self.by_username = {member.username: member for member in self.members}
        self.by_folded_username = defaultdict(list)
        self.by_name = defaultdict(list)
        for member in self.members:
            self.by_folded_username[member.username.casefold()].append(member)
            for name in {member.name.strip(), member.get_full_name().strip()} - {""}:
                self.by_name[name].append(member)
        self.departments = {d.code: d for d in Department.objects.all()}
        self.by_folded_code = defaultdict(list)
        for department_ in self.departments.values():
            self.by_folded_code[department_.code.casefold()].append(department_)
        self.existing = {
            task.title: task
            for task in KeyTask.objects.filter(year=task_list.year, department=department).select_related("owner")
        }
        self.seen_titles = {}

    def owner(self, text):
        """(member, None) or (None, message)."""
        member = self.by_username.get(text)
        if member is None and len(self.by_folded_username[text.casefold()]) == 1:
            member = self.by_folded_username[text.casefold()][0]
        if member is not None:
            return member, None
        named = self.by_name.get(text, [])
        if len(named) == 1:
            return named[0], None
        department = self.task_list.department
        if named:
            return None, _(
                "Several members of %(department)s are called %(owner)s (%(usernames)s); enter the username instead."
            ) % {
                "department": department,
                "owner": text,
                "usernames": ", ".join(sorted(member.username for member in named)),
            }
        return None, _("Unknown owner %(owner)s: not a member of %(department)s.") % {
            "owner": _shown(text),
            "department": department,
        }

    def cooperating(self, text):
        """(departments, None) or (None, message)."""
        found, unknown = [], []
        for code in dict.fromkeys(code for code in CODE_SEPARATORS.split(text) if code):
            department = self.departments.get(code)
            if department is None and len(self.by_folded_code[code.casefold()]) == 1:
                department = self.by_folded_code[code.casefold()][0]
            if department is None:
                unknown.append(_shown(code, 20))
            elif department not in found:
                found.append(department)
        if unknown:
            return None, _("Unknown department codes: %(codes)s.") % {"codes": COOPERATING_SEPARATOR.join(unknown)}
        return found, None

    def check(self, row):
        """(plan, errors) for one row; errors are sorted by column."""
        values = row.values
        problems = {}  # column -> message; the first problem of a column wins

        title = one_line(_text(values[COL_TITLE]))  # a title is one line, whatever Alt+Enter did
        standard = _text(values[COL_STANDARD])

        owner = None
        owner_text = _text(values[COL_OWNER])
        if owner_text:
            owner, problem = self.owner(owner_text)
            if problem:
                problems[COL_OWNER] = problem

        try:
            deadline = parse_date(values[COL_DEADLINE])
        except ValueError:
            deadline = None
            problems[COL_DEADLINE] = _("%(value)s is not a date; write it like 2026-06-30.") % {
                "value": _shown(values[COL_DEADLINE])
            }

        # An unreadable weight goes to validate_task_fields as None: "must be a positive number".
        weight = parse_weight(values[COL_WEIGHT])

        cooperating, problem = self.cooperating(_text(values[COL_COOPERATING]))
        if problem:
            problems[COL_COOPERATING] = problem

        targets = {n: _text(values[target_column(n)]) for n in range(1, STAGES_PER_YEAR + 1)}

        if title:
            first = self.seen_titles.setdefault(title, row.number)
            if first != row.number:
                problems[COL_TITLE] = _("Row %(row)s has the same title; titles must differ.") % {"row": first}
        # Line ends need no care here: save_task stores every text with LF only.
        task = self.existing.get(title) if title else None

        # Owners come from the department's members, and a title of the list names its task:
        # validate_task_fields' two questions to the database are answered from what was read.
        field_errors = services.task_field_errors(
            task_list=self.task_list, title=title, standard=standard, owner=owner,
            deadline=deadline, weight=weight, targets=targets,
            title_taken=self.existing.get(one_line(title), task) is not task, owner_is_member=owner is not None,
        )  # fmt: skip
        for key, message in field_errors.items():
            problems.setdefault(FIELD_COLUMNS.get(key), str(message))
        # Limits of the database columns that validate_task_fields does not check.
        if title and COL_TITLE not in problems and (message := _field_error("title", title)):
            problems[COL_TITLE] = message
        if weight is not None and COL_WEIGHT not in problems and (message := _field_error("weight", weight)):
            problems[COL_WEIGHT] = message

        errors = [
            RowError(row.number, column, message) for column, message in sorted(problems.items(), key=_column_order)
        ]
        plan = _Plan(
            row=row.number,
            task=task,
            fields={
                "title": title,
                "standard": standard,
                "owner": owner,
                "deadline": deadline,
                "weight": weight,
                "targets": targets,
                "cooperating": cooperating or [],
            },
        )
        return plan, errors


def _column_order(item):
    column = item[0]
    return COLUMNS.index(column) if column in COLUMNS else len(COLUMNS)


def _check_draft(task_list):
    if task_list.state != TaskList.State.DRAFT:
        raise _file_error(
            _("The list is %(state)s: only a draft list can be filled in from a file.")
            % {"state": task_list.get_state_display()}
        )


def _errors_of(row, error):
    """RowErrors from a ValidationError that saving raised after all."""
    if hasattr(error, "error_dict"):
        return [
            RowError(row, FIELD_COLUMNS.get(key), message)
            for key, messages in error.message_dict.items()
            for message in messages
        ]
    return [RowError(row, None, message) for message in error.messages]


def _titles_taken_meanwhile(task_list, plans):
    """RowErrors for the new rows whose title the list has now: written by someone who did not
    wait for the list's lock (the admin site, a shell), between the check and the write."""
    taken = set(
        KeyTask.objects.filter(year=task_list.year, department=task_list.department).values_list("title", flat=True)
    )
    message = _("The list already has a task with this title.")
    return [
        RowError(plan.row, COL_TITLE, message) for plan in plans if plan.task is None and plan.fields["title"] in taken
    ]


def import_task_list(*, task_list, file, by):
    """Fill the draft `task_list` from an uploaded workbook, all or nothing.

    Rows update the list's task of the same title or create a new task; tasks missing
    from the file are left alone. Raises PermissionDenied when `by` may not work on the
    list, ImportRejected (nothing saved) listing every problem of the file.

    Every row is checked first, in memory, against what is read once (the department's
    members, the departments, the list's tasks); only a file without problems is written,
    with bulk statements: the number of queries does not grow with the number of rows."""
    return import_rows(task_list=task_list, rows=read_rows(file, task_list=task_list, by=by), by=by)


def read_rows(file, *, task_list, by, progress=None):
    """The task rows of an uploaded workbook, once `by` may fill `task_list` (PermissionDenied
    otherwise; nothing of the file is read). `progress(rows read so far)` is called as the
    sheet streams. ImportRejected for a file that cannot be imported at all."""
    if not access.can_work_on(by, task_list.department):
        raise PermissionDenied
    _check_draft(task_list)
    rows = _read_rows(file, progress)
    if not rows:
        raise _file_error(_("The file has no task rows below the header."))
    return rows


def import_rows(*, task_list, rows, by, finish=None):
    """import_task_list of rows read with read_rows. `finish(result)` runs in the transaction
    that writes the tasks, so that what it records stands or falls with them."""
    if not access.can_work_on(by, task_list.department):
        raise PermissionDenied
    with transaction.atomic():
        # Lock the list: nobody submits it or edits its tasks until the import is done.
        _check_draft(services.lock_task_list(task_list))
        checker = _RowChecker(task_list)
        plans, errors = [], []
        for row in rows:
            plan, row_errors = checker.check(row)
            plans.append(plan)
            errors.extend(row_errors)
        if errors:
            raise ImportRejected(errors)

        try:
            with transaction.atomic():
                outcomes = services.save_tasks_in_bulk(
                    task_list=task_list, by=by, rows=[{"task": plan.task, **plan.fields} for plan in plans]
                )
        except IntegrityError as error:
            changed = _("The list changed meanwhile; import the file again.")
            taken = _titles_taken_meanwhile(task_list, plans)
            raise ImportRejected(taken or [RowError(None, None, changed)]) from error
        except ValidationError as error:
            raise ImportRejected(_errors_of(None, error)) from error
        result = ImportResult(
            created=outcomes.count("created"), updated=outcomes.count("changed"), unchanged=outcomes.count("unchanged")
        )
        if finish is not None:
            finish(result)
    return result
