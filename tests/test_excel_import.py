"""Excel round trip of a department's key task list: template, export, all-or-nothing import."""

import datetime
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation

from lightboard.roles import Role
from tasks import excel, services
from tasks.excel import (
    COL_COOPERATING,
    COL_DEADLINE,
    COL_OWNER,
    COL_STANDARD,
    COL_TITLE,
    COL_WEIGHT,
    COLUMNS,
    ImportRejected,
    RowError,
    build_template,
    export_task_list,
    import_task_list,
    target_column,
)
from tasks.models import AuditEntry, Department, KeyTask, StageTarget, TaskList
from tests.conftest import make_user
from tests.factories import make_list

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Assert on the English source messages, whatever the catalogue holds."""
    with translation.override("en"):
        yield


@pytest.fixture
def task_list(year, department_a):
    return make_list(year, department_a)


@pytest.fixture
def owner_a(department_a):
    return make_user("zhang.wei", Role.STAFF, departments=[department_a], name="张伟")


@pytest.fixture
def department_c(db):
    return Department.objects.create(code="C", name="人力资源部")


def row(title="任务一", **values):
    """One task row in COLUMNS order; keyword arguments override by header."""
    data = {
        COL_TITLE: title,
        COL_STANDARD: f"{title}按期完成并通过验收",
        COL_OWNER: "staff_a",
        COL_DEADLINE: datetime.date(2026, 6, 30),
        COL_WEIGHT: 1,
        COL_COOPERATING: None,
        **{target_column(n): f"{title}第{n}阶段目标" for n in range(1, 7)},
    }
    data.update(values)
    return [data[column] for column in COLUMNS]


def xlsx(rows, headers=COLUMNS, title=excel.TASK_SHEET):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(list(headers))
    for values in rows:
        sheet.append(values)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if cell.data_type == "f":
                cell.data_type = "s"  # text such as "=SUM(…)" as typed, not a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def counts():
    return (KeyTask.objects.count(), StageTarget.objects.count(), AuditEntry.objects.count())


def rejected(task_list, file, by):
    with pytest.raises(ImportRejected) as info:
        import_task_list(task_list=task_list, file=file, by=by)
    return info.value.errors


def load(data):
    return openpyxl.load_workbook(io.BytesIO(data))


# --- template and export ---------------------------------------------------------------


def test_template_has_the_header_instructions_and_members(task_list, staff_a, owner_a, staff_b):
    workbook = load(build_template(task_list))
    assert workbook.sheetnames == ["重点任务", "说明", "责任人"]
    sheet = workbook["重点任务"]
    assert [cell.value for cell in sheet[1]] == [
        "任务名称", "完成标准", "责任人", "完成时限", "权重", "配合部门",
        "第1阶段目标", "第2阶段目标", "第3阶段目标", "第4阶段目标", "第5阶段目标", "第6阶段目标",
    ]  # fmt: skip
    assert sheet.max_row == 1
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 30
    members = [tuple(r) for r in workbook["责任人"].iter_rows(values_only=True)]
    assert members == [("用户名", "姓名"), ("staff_a", "staff_a"), ("zhang.wei", "张伟")]
    instructions = "\n".join(str(value) for (value, *_) in workbook["说明"].iter_rows(values_only=True) if value)
    assert "完成时限" in instructions and "2026" in instructions
    assert "B" in instructions  # the department codes for 配合部门


def test_download_names(task_list):
    assert excel.export_filename(task_list) == "A-2026-重点任务.xlsx"
    assert excel.export_filename(task_list, template=True) == "A-2026-重点任务模板.xlsx"


def test_importing_the_bare_template_says_there_are_no_rows(task_list, staff_a):
    errors = rejected(task_list, io.BytesIO(build_template(task_list)), staff_a)
    assert errors == [RowError(None, None, "The file has no task rows below the header.")]


def test_filled_in_template_imports(task_list, staff_a, owner_a):
    workbook = load(build_template(task_list))
    workbook["重点任务"].append(row("从模板填写", **{COL_OWNER: "张伟"}))
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    result = import_task_list(task_list=task_list, file=buffer, by=staff_a)
    assert (result.created, result.updated) == (1, 0)
    assert KeyTask.objects.get().owner == owner_a


# --- valid imports ---------------------------------------------------------------------


def test_valid_upload_creates_tasks_with_six_targets_and_an_audit_entry_each(
    task_list, staff_a, owner_a, department_b, department_c
):
    upload = SimpleUploadedFile(
        "任务.xlsx",
        xlsx(
            [
                row("任务一", **{COL_COOPERATING: "B，C"}),
                [None] * len(COLUMNS),  # blank rows are ignored
                row("任务二", **{COL_OWNER: "张伟", COL_DEADLINE: "2026/9/30", COL_WEIGHT: 1.5}),
                row("任务三", **{COL_DEADLINE: "2026年12月31日", COL_WEIGHT: "2"}),
                row("任务四", **{COL_DEADLINE: " 2026-03-01 ", COL_COOPERATING: "b、A"}),
            ]
        ).getvalue(),
    )
    result = import_task_list(task_list=task_list, file=upload, by=staff_a)
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)

    tasks = list(KeyTask.objects.filter(department=task_list.department).order_by("id"))
    assert [t.title for t in tasks] == ["任务一", "任务二", "任务三", "任务四"]
    first, second, third, fourth = tasks
    assert {d.code for d in first.cooperating_departments.all()} == {"B", "C"}
    # The own department is never its own cooperating department.
    assert [d.code for d in fourth.cooperating_departments.all()] == ["B"]
    assert second.owner == owner_a and second.weight == Decimal("1.5")
    assert second.deadline == datetime.date(2026, 9, 30)
    assert third.deadline == datetime.date(2026, 12, 31) and third.weight == Decimal(2)
    assert fourth.deadline == datetime.date(2026, 3, 1)
    for task in tasks:
        targets = list(task.targets.select_related("stage"))
        assert [t.stage.number for t in targets] == [1, 2, 3, 4, 5, 6]
        assert targets[2].description == f"{task.title}第3阶段目标"
        entries = list(AuditEntry.objects.filter(task=task))
        assert [(e.action, e.actor) for e in entries] == [("create task", staff_a)]
    assert StageTarget.objects.count() == 24


def test_reimporting_an_export_changes_nothing(task_list, staff_a, owner_a, department_b):
    import_task_list(
        task_list=task_list,
        file=xlsx(
            [
                row("=SUM(A1:A2)", **{COL_WEIGHT: "1.50", COL_COOPERATING: "B"}),
                row("多行\n任务", **{COL_OWNER: "张伟", target_column(6): "全面完成\n并验收"}),
            ]
        ),
        by=staff_a,
    )
    before = counts()
    snapshot = list(KeyTask.objects.values_list("title", "standard", "owner", "deadline", "weight"))

    exported = export_task_list(task_list)
    sheet = load(exported)["重点任务"]
    assert sheet["A2"].value == "=SUM(A1:A2)" and sheet["A2"].data_type == "s"  # text, not a formula
    assert sheet["C3"].value == "zhang.wei"  # owner as username
    assert sheet["F2"].value == "B"

    for _ in range(2):
        result = import_task_list(task_list=task_list, file=io.BytesIO(exported), by=staff_a)
        assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
        assert counts() == before
    after = list(KeyTask.objects.values_list("title", "standard", "owner", "deadline", "weight"))
    assert after == snapshot


def test_reimporting_text_typed_in_a_browser_changes_nothing(task_list, staff_a):
    """Browsers send CRLF line ends; Excel files carry LF. Only the line ends differ: no change."""
    services.save_task(
        task_list=task_list, by=staff_a, title="网页录入", standard="第一行\r\n第二行", owner=staff_a,
        deadline=datetime.date(2026, 5, 31), weight=Decimal("1.25"),
        targets={n: f"目标{n}\r\n细化" for n in range(1, 7)},
    )  # fmt: skip
    before = counts()
    result = import_task_list(task_list=task_list, file=io.BytesIO(export_task_list(task_list)), by=staff_a)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert counts() == before
    assert KeyTask.objects.get().standard == "第一行\n第二行"  # stored with one kind of line ending


def test_a_title_is_one_line_whatever_the_cell_holds(task_list, staff_a):
    """Alt+Enter in an Excel cell breaks a title in two; the task keeps it on one line, and
    importing the same file again finds the same task."""
    file = xlsx([row("新产线\n投产\r\n（一期）")]).getvalue()
    import_task_list(task_list=task_list, file=io.BytesIO(file), by=staff_a)
    assert KeyTask.objects.get().title == "新产线 投产 （一期）"
    result = import_task_list(task_list=task_list, file=io.BytesIO(file), by=staff_a)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)


@pytest.mark.parametrize(("typed", "weight"), [("１．５", Decimal("1.5")), (" 2 ", Decimal("2"))])
def test_a_weight_is_read_as_a_person_types_it(task_list, staff_a, typed, weight):
    import_task_list(task_list=task_list, file=xlsx([row(**{COL_WEIGHT: typed})]), by=staff_a)
    assert KeyTask.objects.get().weight == weight


@pytest.mark.parametrize("typed", ["1e1", "1_0", "1,5", "50%"])
def test_a_weight_written_otherwise_is_refused(task_list, staff_a, typed):
    with pytest.raises(ImportRejected) as rejected:
        import_task_list(task_list=task_list, file=xlsx([row(**{COL_WEIGHT: typed})]), by=staff_a)
    assert "The weight must be a positive number." in " ".join(str(e) for e in rejected.value.errors) or any(
        "权重必须是正数" in str(e) for e in rejected.value.errors
    )
    assert not KeyTask.objects.exists()


def test_a_row_with_an_existing_title_updates_that_task_and_leaves_others_alone(task_list, staff_a, owner_a):
    import_task_list(task_list=task_list, file=xlsx([row("甲"), row("乙")]), by=staff_a)
    task = KeyTask.objects.get(title="甲")
    other_before = list(KeyTask.objects.filter(title="乙").values())

    result = import_task_list(
        task_list=task_list,
        file=xlsx(
            [
                row("甲", **{COL_STANDARD: "新标准", COL_OWNER: "张伟", target_column(2): "新目标"}),
                row("丙"),
            ]
        ),
        by=staff_a,
    )
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    task.refresh_from_db()
    assert task.standard == "新标准" and task.owner == owner_a
    assert task.targets.get(stage__number=2).description == "新目标"
    assert list(KeyTask.objects.filter(title="乙").values()) == other_before
    change = AuditEntry.objects.get(task=task, action="change task")
    assert change.actor == staff_a
    assert change.before["standard"] == "甲按期完成并通过验收"
    assert change.after == {"standard": "新标准", "owner": "张伟", "target_2": "新目标"}
    assert KeyTask.objects.count() == 3


def test_columns_may_come_in_any_order_with_extra_columns(task_list, staff_a):
    headers = ["备注", *reversed(COLUMNS)]
    values = ["随便写", *reversed(row("倒序"))]
    result = import_task_list(task_list=task_list, file=xlsx([values], headers=headers), by=staff_a)
    assert result.created == 1
    assert KeyTask.objects.get().targets.get(stage__number=1).description == "倒序第1阶段目标"


class Stream(io.RawIOBase):
    """A stream that cannot seek, like a socket."""

    def __init__(self, data):
        self.source = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self.source.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_path_or_a_stream_is_accepted(task_list, staff_a, tmp_path):
    path = tmp_path / "tasks.xlsx"
    path.write_bytes(xlsx([row("一")]).getvalue())
    assert import_task_list(task_list=task_list, file=path, by=staff_a).created == 1
    assert import_task_list(task_list=task_list, file=str(path), by=staff_a).unchanged == 1
    stream = Stream(xlsx([row("二")]).getvalue())
    assert import_task_list(task_list=task_list, file=stream, by=staff_a).created == 1
    errors = rejected(task_list, tmp_path, staff_a)  # a directory
    assert errors == [RowError(None, None, "The file cannot be read.")]


# --- bad rows: each reason, nothing saved ------------------------------------------------

BAD_ROWS = [
    pytest.param(
        {COL_OWNER: "ghost"},
        COL_OWNER,
        "Unknown owner ghost: not a member of 生产运营部.",
        id="unknown-owner",
    ),
    pytest.param(
        {COL_OWNER: "staff_b"},
        COL_OWNER,
        "Unknown owner staff_b: not a member of 生产运营部.",
        id="owner-of-another-department",
    ),
    pytest.param({COL_OWNER: None}, COL_OWNER, "Choose the owner.", id="missing-owner"),
    pytest.param({COL_TITLE: None}, COL_TITLE, "Give the task a title.", id="missing-title"),
    pytest.param({COL_TITLE: "长" * 201}, COL_TITLE, "within 200 characters", id="title-too-long"),
    pytest.param(
        {COL_STANDARD: "  "},
        COL_STANDARD,
        "Say what counts as done (the completion standard).",
        id="missing-standard",
    ),
    pytest.param(
        {target_column(4): None},
        target_column(4),
        "Give the target of stage 4.",
        id="missing-target",
    ),
    pytest.param({COL_DEADLINE: None}, COL_DEADLINE, "Give the deadline.", id="missing-deadline"),
    pytest.param(
        {COL_DEADLINE: datetime.date(2027, 1, 1)},
        COL_DEADLINE,
        "The deadline must fall within 2026.",
        id="deadline-outside-the-year",
    ),
    pytest.param(
        {COL_DEADLINE: "2025/12/31"},
        COL_DEADLINE,
        "The deadline must fall within 2026.",
        id="deadline-text-outside-the-year",
    ),
    pytest.param(
        {COL_DEADLINE: "下月底"},
        COL_DEADLINE,
        "下月底 is not a date; write it like 2026-06-30.",
        id="bad-date-text",
    ),
    pytest.param(
        {COL_DEADLINE: "2026-02-30"},
        COL_DEADLINE,
        "2026-02-30 is not a date; write it like 2026-06-30.",
        id="impossible-date",
    ),
    pytest.param({COL_WEIGHT: 0}, COL_WEIGHT, "The weight must be a positive number.", id="zero-weight"),
    pytest.param(
        {COL_WEIGHT: -1.5},
        COL_WEIGHT,
        "The weight must be a positive number.",
        id="negative-weight",
    ),
    pytest.param(
        {COL_WEIGHT: "很重"},
        COL_WEIGHT,
        "The weight must be a positive number.",
        id="weight-not-a-number",
    ),
    pytest.param(
        {COL_WEIGHT: "NaN"},
        COL_WEIGHT,
        "The weight must be a positive number.",
        id="weight-nan",
    ),
    pytest.param({COL_WEIGHT: 1000}, COL_WEIGHT, "below 1000", id="weight-too-big"),
    pytest.param({COL_WEIGHT: 1.125}, COL_WEIGHT, "at most two decimals", id="weight-too-precise"),
    pytest.param(
        {COL_COOPERATING: "B, ZZZ，QQ"},
        COL_COOPERATING,
        "Unknown department codes: ZZZ、QQ.",
        id="unknown-cooperating-code",
    ),
    pytest.param(
        {COL_TITLE: "好任务"},
        COL_TITLE,
        "Row 2 has the same title; titles must differ.",
        id="duplicate-title-in-file",
    ),
]


@pytest.mark.parametrize(("values", "column", "message"), BAD_ROWS)
def test_each_bad_row_reason_is_reported_and_nothing_is_saved(
    task_list, staff_a, staff_b, department_b, values, column, message
):
    before = counts()
    file = xlsx([row("好任务"), row("坏任务", **values), row("另一个好任务")])
    errors = rejected(task_list, file, staff_a)
    assert len(errors) == 1, errors
    (error,) = errors
    assert (error.row, error.column) == (3, column)
    assert message in error.message
    assert counts() == before


def test_an_ambiguous_owner_name_asks_for_the_username(task_list, staff_a, department_a):
    for username in ("li.na.1", "li.na.2"):
        make_user(username, Role.STAFF, departments=[department_a], name="李娜")
    errors = rejected(task_list, xlsx([row(**{COL_OWNER: "李娜"})]), staff_a)
    assert errors == [
        RowError(
            2,
            COL_OWNER,
            "Several members of 生产运营部 are called 李娜 (li.na.1, li.na.2); enter the username instead.",
        )
    ]
    assert import_task_list(task_list=task_list, file=xlsx([row(**{COL_OWNER: "li.na.2"})]), by=staff_a).created == 1


def test_every_error_of_every_row_is_reported_at_once(task_list, staff_a):
    before = counts()
    file = xlsx(
        [
            row("一"),
            row("二", **{COL_OWNER: "ghost", COL_WEIGHT: 0, target_column(6): None}),
            row("三"),
            row(None, **{COL_STANDARD: None, COL_DEADLINE: "明年"}),
            row("一"),
        ]
    )
    errors = rejected(task_list, file, staff_a)
    assert [(e.row, e.column) for e in errors] == [
        (3, COL_OWNER),
        (3, COL_WEIGHT),
        (3, target_column(6)),
        (5, COL_TITLE),
        (5, COL_STANDARD),
        (5, COL_DEADLINE),
        (6, COL_TITLE),
    ]
    assert str(errors[0]) == "Row 3 [责任人]: Unknown owner ghost: not a member of 生产运营部."
    assert counts() == before


def test_a_failure_while_saving_rolls_back_every_row(task_list, staff_a, owner_a, monkeypatch):
    """One transaction: if the bulk write fails after all (here a task titled like row 4 written
    between the check and the write by someone who did not wait for the list's lock), no row
    is saved, and the row that clashed is named."""
    before = counts()
    real_check = excel._RowChecker.check

    def check_then_someone_writes(checker, row):
        checked = real_check(checker, row)
        if checker.seen_titles.keys() == {"一", "二", "三"}:
            KeyTask.objects.create(
                year=task_list.year, department=task_list.department, title="三", standard="别处写入",
                owner=owner_a, deadline=datetime.date(2026, 6, 30),
            )  # fmt: skip
        return checked

    monkeypatch.setattr(excel._RowChecker, "check", check_then_someone_writes)
    errors = rejected(task_list, xlsx([row("一"), row("二"), row("三")]), staff_a)
    assert errors == [RowError(4, COL_TITLE, "The list already has a task with this title.")]
    assert counts() == before


# --- bulk speed ------------------------------------------------------------------------


def _round_trips(executed):
    """The statements an import ran, a bulk INSERT or UPDATE counted once: SQLite splits one
    into batches of 999 parameters, PostgreSQL sends it whole."""
    trips = []
    for sql in executed:
        head = re.sub(r'"s\d+_x\d+"', '"savepoint"', sql[:60])
        if trips and head.split(" ")[0] in {"INSERT", "UPDATE"} and trips[-1] == head:
            continue
        trips.append(head)
    return trips


def _import_counted(task_list, by, rows):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        result = import_task_list(task_list=task_list, file=xlsx(rows), by=by)
    return result, [query["sql"] for query in captured.captured_queries]


def test_the_import_runs_as_many_queries_for_200_rows_as_for_10(
    year, department_a, department_b, department_c, staff_a, staff_b
):
    """Reads done once and bulk writes: the query count does not grow with the rows, whether
    the rows create tasks or change them (targets, owner, cooperating departments)."""
    measured = {}
    for size, department, by in [(10, department_a, staff_a), (200, department_b, staff_b)]:
        task_list = make_list(year, department)
        owner = by.username
        created, on_create = _import_counted(
            task_list, by, [row(f"任务{n:03d}", **{COL_OWNER: owner, COL_COOPERATING: "C"}) for n in range(size)]
        )
        assert (created.created, created.updated, created.unchanged) == (size, 0, 0)
        changed, on_change = _import_counted(
            task_list,
            by,
            [
                row(f"任务{n:03d}", **{COL_OWNER: owner, COL_STANDARD: "新标准", target_column(3): "新目标"})
                for n in range(size)
            ],
        )
        assert (changed.created, changed.updated, changed.unchanged) == (0, size, 0)
        tasks = KeyTask.objects.filter(department=department)
        assert tasks.count() == size and StageTarget.objects.filter(task__department=department).count() == 6 * size
        assert not tasks.filter(cooperating_departments__isnull=False).exists()
        assert set(tasks.values_list("standard", flat=True)) == {"新标准"}
        assert AuditEntry.objects.filter(task__department=department, action="create task").count() == size
        assert AuditEntry.objects.filter(task__department=department, action="change task").count() == size
        measured[size] = (on_create, on_change)

    from django.db import connection

    for small, large in zip(measured[10], measured[200], strict=True):
        assert _round_trips(small) == _round_trips(large)
        if connection.vendor == "postgresql":
            assert len(small) == len(large)
    assert len(measured[200][0]) < 40  # not one query per row either


def test_the_bulk_audit_entries_read_as_save_task_writes_them(task_list, staff_a, owner_a, department_b):
    """The import's audit trail, written in bulk, holds what save_task records one by one."""
    import_task_list(task_list=task_list, file=xlsx([row("甲", **{COL_COOPERATING: "B", COL_WEIGHT: 1.5})]), by=staff_a)
    imported = AuditEntry.objects.get(action="create task")
    services.save_task(
        task_list=task_list, by=staff_a, title="乙", standard="乙按期完成并通过验收", owner=staff_a,
        deadline=datetime.date(2026, 6, 30), weight=Decimal("1.5"), cooperating=[department_b],
        targets={n: f"乙第{n}阶段目标" for n in range(1, 7)},
    )  # fmt: skip
    saved = AuditEntry.objects.exclude(pk=imported.pk).get(action="create task")
    task = KeyTask.objects.get(title="甲")
    assert (imported.subject_type, imported.subject_id, imported.task_id) == ("keytask", task.pk, task.pk)
    assert imported.after.keys() == saved.after.keys()
    assert {key: value.replace("甲", "乙") for key, value in imported.after.items() if isinstance(value, str)} == {
        key: value for key, value in saved.after.items() if isinstance(value, str)
    }
    assert imported.after["cooperating_departments"] == saved.after["cooperating_departments"] == ["B"]
    assert imported.at is not None and imported.actor == staff_a


# --- the file itself -------------------------------------------------------------------

NOT_XLSX = "The file is not a valid .xlsx workbook; save it from Excel as .xlsx."


def _truncated():
    data = xlsx([row()]).getvalue()
    return data[: len(data) // 2]


def _zip_without_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


def _zip_with_content_types_only():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(bytes(range(256)) * 40, id="random-bytes"),
        pytest.param("任务名称,完成标准\n任务一,标准\n".encode(), id="renamed-text-file"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000, id="renamed-xls"),
        pytest.param(b"", id="empty-file"),
        pytest.param(_truncated(), id="truncated-xlsx"),
        pytest.param(_zip_without_workbook(), id="zip-not-xlsx"),
        pytest.param(_zip_with_content_types_only(), id="zip-without-workbook-part"),
    ],
)
def test_a_file_that_is_not_an_xlsx_is_refused(task_list, staff_a, data):
    before = counts()
    assert rejected(task_list, io.BytesIO(data), staff_a) == [RowError(None, None, NOT_XLSX)]
    assert counts() == before


def test_a_damaged_sheet_inside_a_valid_zip_is_refused(task_list, staff_a):
    source = zipfile.ZipFile(xlsx([row()]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut off mid-XML
            archive.writestr(info, data)
    buffer.seek(0)
    assert rejected(task_list, buffer, staff_a) == [RowError(None, None, NOT_XLSX)]


def test_xml_entities_are_refused_by_defusedxml(task_list, staff_a):
    import openpyxl as module

    assert module.DEFUSEDXML is True
    source = zipfile.ZipFile(xlsx([row()]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                doctype = b'<!DOCTYPE worksheet [<!ENTITY lol "lol">]>'
                data = doctype + data.replace(b"<t>", b"<t>&lol;", 1)
            archive.writestr(info, data)
    buffer.seek(0)
    assert rejected(task_list, buffer, staff_a) == [RowError(None, None, NOT_XLSX)]


class Unreadable(io.BytesIO):
    """A seekable file whose contents must not be read."""

    def read(self, *args):
        raise AssertionError("the size check must not read the file")


def test_a_file_over_5_mb_is_refused_without_reading_it(task_list, staff_a, tmp_path):
    message = "The file is larger than 5 MB."
    big = Unreadable(b"\0" * (excel.MAX_UPLOAD_BYTES + 1))
    assert rejected(task_list, big, staff_a) == [RowError(None, None, message)]
    path = tmp_path / "big.xlsx"
    with open(path, "wb") as handle:
        handle.truncate(excel.MAX_UPLOAD_BYTES + 1)  # sparse: no 5 MB written
    assert rejected(task_list, path, staff_a) == [RowError(None, None, message)]
    upload = SimpleUploadedFile("big.xlsx", b"\0" * (excel.MAX_UPLOAD_BYTES + 1))
    assert rejected(task_list, upload, staff_a) == [RowError(None, None, message)]
    stream = Stream(b"\0" * (excel.MAX_UPLOAD_BYTES + 1))  # cannot seek: copied up to the limit
    assert rejected(task_list, stream, staff_a) == [RowError(None, None, message)]


def test_a_zip_bomb_is_refused_from_its_central_directory(task_list, staff_a):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (51 * 1024 * 1024))
    assert buffer.tell() < excel.MAX_UPLOAD_BYTES
    buffer.seek(0)
    errors = rejected(task_list, buffer, staff_a)
    assert errors == [RowError(None, None, "The file unpacks to more than 50 MB; it is not a normal task list.")]


def test_a_member_compressed_over_100_to_1_is_refused(task_list, staff_a):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/sharedStrings.xml", b" " * (2 * 1024 * 1024))
    buffer.seek(0)
    (error,) = rejected(task_list, buffer, staff_a)
    assert error.message == ("The file holds a part compressed more than 100:1; it is not a normal task list.")


def test_more_than_5000_rows_are_refused(task_list, staff_a):
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(excel.TASK_SHEET)
    sheet.append(COLUMNS)
    for number in range(excel.MAX_ROWS + 1):
        sheet.append([f"任务{number}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    assert rejected(task_list, buffer, staff_a) == [
        RowError(None, None, "The sheet has more than 5000 task rows; split it into several files.")
    ]
    assert KeyTask.objects.count() == 0


def test_a_sheet_of_mostly_empty_rows_is_refused_quickly(task_list, staff_a):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    sheet.append(row())
    sheet.cell(row=excel.MAX_SCANNED_ROWS + 10, column=1, value="远处的一行")
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    (error,) = rejected(task_list, buffer, staff_a)
    assert error.row is None and "too many rows" in error.message


def test_a_missing_header_column_is_named(task_list, staff_a):
    headers = [c for c in COLUMNS if c not in (COL_STANDARD, target_column(6))]
    errors = rejected(task_list, xlsx([["x"] * len(headers)], headers=headers), staff_a)
    assert errors == [RowError(1, None, "The first row of sheet 重点任务 lacks the columns 完成标准、第6阶段目标.")]


# --- list state and permissions --------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "label"),
    [(TaskList.State.SUBMITTED, "Submitted"), (TaskList.State.APPROVED, "Approved")],
)
def test_a_submitted_or_approved_list_cannot_be_imported_into(task_list, staff_a, state, label):
    import_task_list(task_list=task_list, file=xlsx([row("原有")]), by=staff_a)
    TaskList.objects.filter(pk=task_list.pk).update(state=state)
    before = counts()
    errors = rejected(task_list, xlsx([row("原有", **{COL_STANDARD: "改了"}), row("新")]), staff_a)
    assert errors == [RowError(None, None, f"The list is {label}: only a draft list can be filled in from a file.")]
    assert counts() == before
    assert KeyTask.objects.get().standard == "原有按期完成并通过验收"


@pytest.mark.parametrize("who", ["staff_b", "leader_a", "no_role"])
def test_only_staff_of_the_department_may_import(task_list, who, request):
    user = request.getfixturevalue(who)
    before = counts()
    with pytest.raises(PermissionDenied):
        import_task_list(task_list=task_list, file=xlsx([row(**{COL_OWNER: "ghost"})]), by=user)
    # Refused before the file is looked at: no row errors leak.
    with pytest.raises(PermissionDenied):
        import_task_list(task_list=task_list, file=io.BytesIO(b"junk"), by=user)
    assert counts() == before


# --- management command ----------------------------------------------------------------


@pytest.fixture
def good_file(tmp_path, task_list):
    path = tmp_path / "任务.xlsx"
    path.write_bytes(xlsx([row("一"), row("二")]).getvalue())
    return path


def test_command_imports_as_the_named_staff_member(good_file, staff_a):
    out = io.StringIO()
    call_command(
        "import_tasks", str(good_file), "--department", "A", "--year", "2026", "--as", "staff_a",
        stdout=out,
    )  # fmt: skip
    assert "2 created, 0 updated, 0 unchanged" in out.getvalue()
    assert set(AuditEntry.objects.values_list("actor__username", flat=True)) == {"staff_a"}
    assert KeyTask.objects.count() == 2


def test_command_requires_an_actor(good_file, staff_a):
    with pytest.raises(CommandError, match="--as"):
        call_command("import_tasks", str(good_file), "--department", "A", "--year", "2026")
    assert counts() == (0, 0, 0)


def test_command_lists_row_errors_and_saves_nothing(tmp_path, task_list, staff_a):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx([row("一"), row("二", **{COL_OWNER: "ghost", COL_WEIGHT: -1})]).getvalue())
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command(
            "import_tasks", str(path), "--department", "A", "--year", "2026", "--as", "staff_a",
            stderr=err,
        )  # fmt: skip
    assert err.getvalue().splitlines() == [
        "Row 3 [责任人]: Unknown owner ghost: not a member of 生产运营部.",
        "Row 3 [权重]: The weight must be a positive number.",
    ]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--department", "NOPE", "--year", "2026", "--as", "staff_a"], "Unknown department"),
        (["--department", "A", "--year", "1999", "--as", "staff_a"], "no assessment year 1999"),
        (["--department", "A", "--year", "2026", "--as", "ghost"], "Unknown user"),
        (["--department", "A", "--year", "2026", "--as", "staff_b"], "not department staff"),
        (["--department", "A", "--year", "2026", "--as", "leader_a"], "not department staff"),
    ],
)
def test_command_refuses_bad_arguments(good_file, staff_a, staff_b, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_tasks", str(good_file), *arguments)
    assert counts() == (0, 0, 0)


def test_command_refuses_a_missing_file(tmp_path, task_list, staff_a):
    with pytest.raises(CommandError, match="No such file"):
        call_command(
            "import_tasks", str(tmp_path / "nope.xlsx"), "--department", "A", "--year", "2026",
            "--as", "staff_a",
        )  # fmt: skip
