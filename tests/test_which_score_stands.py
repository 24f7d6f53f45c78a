"""One rule says which score stands for a task's stage (lightboard.lights.stage_standing): the
leadership group's final score, else the division leader's confirmed score, else the
department's submitted self score; a draft stands for nothing. The task page, "my tasks" and
the early warning all read it; and one rule reads and stores a score (parse_score)."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from lightboard.lights import parse_score, stage_standing
from reports import queries as reports
from reviews.models import Confirmation
from tasks.models import SelfAssessment
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import open_meeting, rate, stage_of

D = Decimal


class Year:
    green_above, red_below = D(80), D(60)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        (
            {"final": D("30.0"), "final_light": "red", "confirmed": D("85"), "submitted": D("90")},
            (D("30.0"), "final", "red"),
        ),
        ({"confirmed": D("85"), "submitted": D("50")}, (D("85"), "confirmed", "green")),
        ({"submitted": D("60")}, (D("60"), "self", "yellow")),
        ({"submitted": D("80.1")}, (D("80.1"), "self", "green")),
        ({}, (None, "none", "missing")),
        # A frozen rating keeps the light it was given, even if the year's thresholds moved since.
        ({"final": D("79"), "final_light": "green"}, (D("79"), "final", "green")),
    ],
)
def test_the_standing_score_is_final_else_confirmed_else_submitted(scores, expected):
    standing = stage_standing(Year, **scores)
    assert (standing.score, standing.source, standing.light) == expected


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (75, D("75.0")),
        ("82.5", D("82.5")),
        (D("0"), D("0.0")),
        (100, D("100.0")),
        ("60.0", D("60.0")),
        ("８２．５", D("82.5")),  # typed with a Chinese input method's full-width digits
        ("１００％", D("100.0")),
        (" 75% ", D("75.0")),
    ],
)
def test_a_score_is_stored_with_one_decimal_place(raw, stored):
    assert parse_score(raw, field="score") == stored


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("80.55", "最多保留一位小数"),
        ("100.1", "0 到 100"),
        (-1, "0 到 100"),
        ("abc", "0 到 100"),
        (True, "0 到 100"),
        (D("NaN"), "0 到 100"),
        (None, "0 到 100"),
        ("1e1", "0 到 100"),  # a number is written plainly: no exponents,
        ("1_0", "0 到 100"),  # no digit separators,
        ("7,5", "0 到 100"),  # no decimal comma
        ("%", "0 到 100"),
        ("٨٠", "0 到 100"),  # digits of other scripts are not read as numbers
    ],
)
def test_anything_else_is_refused_under_the_fields_name(raw, message):
    with pytest.raises(ValidationError) as error:
        parse_score(raw, field="final_score")
    assert message in " ".join(error.value.message_dict["final_score"])


# --- the pages that read the rule ----------------------------------------------------------


def stage_light_on_task_page(client, task, number):
    html = client.get(f"/tasks/{task.pk}/").content.decode()
    rows = html.split('id="stages"')[1].split("<tbody>")[1].split("<tr>")[1:]
    return re.search(r'<span class="light (\w+)"', rows[number - 1]).group(1)


@pytest.fixture
def task(year, department_a, staff_a):
    return KeyTaskFactory(year=year, department=department_a, owner=staff_a)


# 20 February 2026: stage 1 (January and February) is the next to meet; its self-assessment is due 5 March.
BEFORE_STAGE_1_IS_DUE = datetime.date(2026, 2, 20)


def test_a_draft_lights_nothing_anywhere(client, year, task, staff_a):
    SelfAssessment.objects.create(task=task, stage=stage_of(year, 1), completion=40, state="draft")
    client.force_login(staff_a)
    assert stage_light_on_task_page(client, task, 1) == "missing"
    _stage, warnings = reports.early_warning(year, BEFORE_STAGE_1_IS_DUE)
    assert [w.kind for w in warnings if w.task == task] == []


def test_the_task_page_and_the_early_warning_follow_the_same_score(client, year, task, staff_a, leader_a, leadership):
    stage = stage_of(year, 1)
    assessment = SelfAssessment.objects.create(task=task, stage=stage, completion=90, state="submitted")
    client.force_login(staff_a)

    def seen():
        (warning,) = [w for w in reports.early_warning(year, BEFORE_STAGE_1_IS_DUE)[1] if w.task == task] or [None]
        return stage_light_on_task_page(client, task, 1), warning and (warning.kind, warning.score, warning.source)

    assert seen() == ("green", None)  # the submitted self score: not on the warning list
    Confirmation.objects.create(assessment=assessment, score=D("70.0"), confirmed_by=leader_a)
    SelfAssessment.objects.filter(pk=assessment.pk).update(state="confirmed")
    assert seen() == ("yellow", ("yellow", D("70.0"), "confirmed"))
    meeting = open_meeting(stage, leadership)
    rate(meeting, task, "45", leadership)
    assert seen() == ("red", ("red", D("45.0"), "final"))
