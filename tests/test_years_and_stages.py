"""An assessment year comes with six two-month stages and sane thresholds."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tasks import services
from tasks.models import AssessmentYear, Stage
from tasks.queries import current_stage, current_year

pytestmark = pytest.mark.django_db


def test_a_new_year_gets_six_two_month_stages():
    year = services.create_assessment_year(year=2026)
    stages = list(year.stages.order_by("number"))
    assert [s.number for s in stages] == [1, 2, 3, 4, 5, 6]
    assert (stages[0].start, stages[0].end) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 2, 28),
    )
    assert (stages[5].start, stages[5].end) == (
        datetime.date(2026, 11, 1),
        datetime.date(2026, 12, 31),
    )
    assert stages[0].self_assessment_due == datetime.date(2026, 3, 5)
    assert stages[0].meeting_date == datetime.date(2026, 3, 10)
    # The stages cover the year without gaps or overlaps.
    for earlier, later in zip(stages, stages[1:], strict=False):
        assert later.start == earlier.end + datetime.timedelta(days=1)


def test_leap_years_end_the_first_stage_on_29_february():
    year = services.create_assessment_year(year=2028)
    assert year.stages.get(number=1).end == datetime.date(2028, 2, 29)


def test_default_thresholds_are_80_and_60():
    year = services.create_assessment_year(year=2026)
    assert (year.green_above, year.red_below) == (Decimal("80"), Decimal("60"))


@pytest.mark.parametrize(("green_above", "red_below"), [(60, 80), (101, 60), (80, -1)])
def test_thresholds_that_make_no_sense_are_refused(green_above, red_below):
    with pytest.raises(ValidationError):
        services.create_assessment_year(year=2026, green_above=green_above, red_below=red_below)
    assert not AssessmentYear.objects.exists()


def test_the_database_refuses_inverted_thresholds_too():
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentYear.objects.create(year=2026, green_above=50, red_below=70)


def test_ensure_stages_keeps_edited_stages_and_adds_only_missing_ones():
    year = services.create_assessment_year(year=2026)
    stage = year.stages.get(number=2)
    stage.meeting_date = datetime.date(2026, 5, 20)
    stage.save()
    year.stages.filter(number=6).delete()
    services.ensure_stages(year)
    assert year.stages.count() == 6
    assert year.stages.get(number=2).meeting_date == datetime.date(2026, 5, 20)


def test_a_stage_ending_before_it_starts_is_invalid():
    year = services.create_assessment_year(year=2026)
    stage = year.stages.get(number=1)
    stage.end = datetime.date(2025, 12, 1)
    with pytest.raises(ValidationError) as error:
        stage.full_clean()
    assert "end" in error.value.message_dict


def test_current_year_and_stage_follow_the_date():
    year = services.create_assessment_year(year=2026)
    services.create_assessment_year(year=2025)
    assert current_year(datetime.date(2026, 11, 25)) == year
    assert current_stage(year, datetime.date(2026, 11, 25)).number == 6
    assert current_stage(year, datetime.date(2026, 3, 1)).number == 2
    assert current_stage(year, datetime.date(2027, 2, 1)).number == 6
    # With no year for today's calendar year, the latest year is current.
    assert current_year(datetime.date(2030, 1, 1)) == year


def test_administrator_adds_a_year_in_the_admin_and_gets_its_stages(admin_client):
    response = admin_client.post(
        "/admin/tasks/assessmentyear/add/",
        {
            "year": "2027",
            "green_above": "85",
            "red_below": "60",
            "serious_below": "30",
            "serious_when_red_twice": "on",
            "supervision_reply_days": "10",
            "reminder_reply_days": "5",
            "acknowledge_within_days": "2",
            "stages-TOTAL_FORMS": "0",
            "stages-INITIAL_FORMS": "0",
            "stages-MIN_NUM_FORMS": "0",
            "stages-MAX_NUM_FORMS": "6",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    year = AssessmentYear.objects.get(year=2027)
    assert year.green_above == Decimal("85")
    assert Stage.objects.filter(year=year).count() == 6


def test_administrator_is_told_when_thresholds_are_inverted(admin_client):
    response = admin_client.post(
        "/admin/tasks/assessmentyear/add/",
        {
            "year": "2027",
            "green_above": "50",
            "red_below": "70",
            "serious_below": "30",
            "stages-TOTAL_FORMS": "0",
            "stages-INITIAL_FORMS": "0",
            "stages-MIN_NUM_FORMS": "0",
            "stages-MAX_NUM_FORMS": "6",
        },
    )
    assert response.status_code == 200
    assert not AssessmentYear.objects.filter(year=2027).exists()
    assert "errornote" in response.content.decode()


def test_lightboard_takes_as_today_the_pinned_day_or_a_days_block(settings):
    from lightboard import clock

    settings.LIGHTBOARD_TODAY = None
    assert clock.today() == timezone.localdate()
    settings.LIGHTBOARD_TODAY = datetime.date(2026, 11, 25)
    assert clock.today() == datetime.date(2026, 11, 25)
    with clock.as_of(datetime.date(2026, 3, 9)):
        assert clock.today() == datetime.date(2026, 3, 9)
    assert clock.today() == datetime.date(2026, 11, 25)
