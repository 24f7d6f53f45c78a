"""Write use cases of the tasks app. Views, admin, commands and Celery tasks call these."""

import calendar
import datetime

from django.db import transaction

from .models import STAGES_PER_YEAR, AssessmentYear, Stage

# A stage's self-assessment is due this many days after it ends; the leadership group
# meets this many days after that. Both dates stay editable per stage.
SELF_ASSESSMENT_DAYS_AFTER_END = 5
MEETING_DAYS_AFTER_DUE = 5


def default_stage_dates(year, number):
    """The default dates of stage `number` (1–6) of `year`: two calendar months each."""
    if not 1 <= number <= STAGES_PER_YEAR:
        raise ValueError(f"stage number must be from 1 to {STAGES_PER_YEAR}, got {number!r}")
    first_month = 2 * number - 1
    last_month = first_month + 1
    start = datetime.date(year, first_month, 1)
    end = datetime.date(year, last_month, calendar.monthrange(year, last_month)[1])
    due = end + datetime.timedelta(days=SELF_ASSESSMENT_DAYS_AFTER_END)
    meeting = due + datetime.timedelta(days=MEETING_DAYS_AFTER_DUE)
    return {"start": start, "end": end, "self_assessment_due": due, "meeting_date": meeting}


@transaction.atomic
def ensure_stages(assessment_year):
    """Create whichever of the year's six stages are missing, with default dates.
    Existing stages (perhaps edited) are left as they are."""
    existing = set(assessment_year.stages.values_list("number", flat=True))
    Stage.objects.bulk_create(
        Stage(
            year=assessment_year, number=number, **default_stage_dates(assessment_year.year, number)
        )
        for number in range(1, STAGES_PER_YEAR + 1)
        if number not in existing
    )


@transaction.atomic
def create_assessment_year(*, year, green_above=None, red_below=None):
    """Create an assessment year with its six two-month stages."""
    fields = {"year": year}
    if green_above is not None:
        fields["green_above"] = green_above
    if red_below is not None:
        fields["red_below"] = red_below
    assessment_year = AssessmentYear(**fields)
    assessment_year.full_clean()
    assessment_year.save()
    ensure_stages(assessment_year)
    return assessment_year
