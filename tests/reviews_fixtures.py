"""Helpers shared by the reviews tests: the way a task reaches the board, step by step,
through the same services the screens call. Plain functions, imported explicitly."""

import datetime
import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from lightboard.roles import Role
from reviews import services as reviews
from reviews.models import Rating, ReviewMeeting
from tasks.models import KeyTask, SelfAssessment
from tests.conftest import make_user


def interview_time(days=7):
    """An interview a week ahead (they are held from today to a year ahead), at 9:30 local time."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(9, 30)))


def typed(moment):
    """A time as a datetime-local field sends it."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def english(client):
    """Switch a test client to the English interface (the Chinese one is the default)."""
    client.cookies["django_language"] = "en"
    return client


def stage_of(year, number):
    return year.stages.get(number=number)


def submit(task, stage, completion, *, by=None, account="按计划推进"):
    """The department submits its self-assessment of `task` for `stage` (written directly, as
    the tasks app's form would leave it, so that any stage of any year can be used)."""
    by = by or task.owner
    assessment, _created = SelfAssessment.objects.get_or_create(task=task, stage=stage)
    assessment.completion = Decimal(str(completion))
    assessment.account = account
    assessment.state = SelfAssessment.State.SUBMITTED
    assessment.submitted_at = timezone.now()
    assessment.submitted_by = by
    assessment.updated_by = by
    assessment.version += 1
    assessment.save()
    return assessment


def confirm(task, stage, completion, *, score=None, reason="adjusted"):
    """Submitted by the owner, confirmed by the department's division leader (adjusted when
    `score` is given)."""
    assessment = submit(task, stage, completion)
    leader = task.department.division_leader
    if score is None or Decimal(str(score)) == assessment.completion:
        reviews.confirm_as_submitted(assessments=[(assessment.pk, assessment.version)], by=leader)
    else:
        reviews.confirm_with_adjustment(
            assessment_id=assessment.pk, version=assessment.version, score=Decimal(str(score)), reason=reason, by=leader
        )
    assessment.refresh_from_db()
    return assessment


def leadership_member(username, **fields):
    return make_user(username, Role.LEADERSHIP, **fields)


def open_meeting(stage, by, *, attendees=(), place="第一会议室", unit=None):
    """Schedule and open the stage's meeting of a cycle: the group's, or `unit`'s own."""
    meeting = reviews.schedule_meeting(
        stage=stage, unit=unit, date=stage.meeting_date, place=place, attendees=attendees, by=by
    )
    return reviews.open_meeting(meeting=meeting, by=by)


def rating_of(meeting, task):
    return Rating.objects.get(meeting=meeting, task=task)


def rate(meeting, task, score, by, *, reason="会上综合评价", decision="", next_stage_target=""):
    rating = rating_of(meeting, task)
    return reviews.set_rating(
        rating_id=rating.pk,
        version=rating.version,
        final_score=Decimal(str(score)),
        score_reason=reason,
        decision=decision,
        next_stage_target=next_stage_target,
        by=by,
    )


def rate_all_missing(meeting, by, score=90):
    for rating in meeting.ratings.filter(final_score__isnull=True).select_related("task"):
        rate(meeting, rating.task, score, by)


def close(meeting, by):
    return reviews.close_meeting(meeting=ReviewMeeting.objects.get(pk=meeting.pk), by=by)


def must_refuse(call, **kwargs):
    """Run a service call that must raise ValidationError; return its messages."""
    try:
        call(**kwargs)
    except ValidationError as error:
        return error.messages
    raise AssertionError("expected a ValidationError")


def field_block(html, name):
    """The HTML of one form field's block (label, input, help, errors), to assert that a
    message is shown next to that field."""
    match = re.search(rf'<div class="field field-{name}">(.*?)(?=<div class="field |</form>)', html, re.S)
    assert match, f"no field {name!r} in the page"
    return match.group(1)


def all_tasks(year):
    return KeyTask.objects.filter(year=year)
