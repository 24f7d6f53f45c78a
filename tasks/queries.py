"""Read helpers of the tasks app: the querysets and summaries pages read."""

from django.utils import timezone

from .models import AssessmentYear


def current_year(today=None):
    """The assessment year of today's calendar year, else the latest one; None if none exist."""
    today = today or timezone.localdate()
    years = AssessmentYear.objects.order_by("-year")
    return years.filter(year=today.year).first() or years.first()


def current_stage(assessment_year, today=None):
    """The stage whose two months contain today; before the year the first, after it the last."""
    today = today or timezone.localdate()
    stages = list(assessment_year.stages.order_by("number"))
    if not stages:
        return None
    for stage in stages:
        if stage.start <= today <= stage.end:
            return stage
    return stages[0] if today < stages[0].start else stages[-1]
