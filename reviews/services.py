"""Write use cases of the reviews app: confirmation, review meetings, ratings, amendments,
follow-up cases and the outbox. Views, admin, commands and Celery tasks call these."""

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from lightboard.colour import classify
from tasks.models import KeyTask, SelfAssessment, User
from tasks.roles import Role, has_role
from tasks.services import as_score, record_audit

from . import delivery
from .letters import issue_letter, letter_link
from .models import Confirmation, FollowUp, Letter, Notification, Rating, RatingAmendment, ReviewMeeting

REMINDER_DAYS = 15
SUPERVISION_DAYS = 30


class StaleEdit(Exception):
    """Someone else changed the object since the user loaded it; nothing was saved."""

    def __init__(self, obj):
        who = obj.updated_by or _("someone")
        when = formats.date_format(timezone.localtime(obj.updated_at), "SHORT_DATETIME_FORMAT")
        super().__init__(
            _("%(who)s changed this at %(when)s. Reload the page to see their change; yours was not saved.")
            % {"who": who, "when": when}
        )


def _bump(model, obj, *, version, by, **fields):
    """Write `fields` only if the row is still at `version`; raise StaleEdit otherwise."""
    updated = model.objects.filter(pk=obj.pk, version=version).update(
        version=version + 1, updated_by=by, updated_at=timezone.now(), **fields
    )
    if not updated:
        raise StaleEdit(model.objects.select_related("updated_by").get(pk=obj.pk))
    obj.refresh_from_db()
    return obj


def _check_score(value, field):
    try:
        classify(value)
    except ValueError:
        raise ValidationError({field: _("Enter a score from 0 to 100.")}) from None


def colour_for(score, year):
    """The light of a score under the year's thresholds: the colour engine decides, always."""
    return classify(score, green_above=year.green_above, red_below=year.red_below).value


# --- the outbox ------------------------------------------------------------------------


def notify(*, recipient, kind, subject, body="", link="", key, letter=None):
    """Queue one message to one person. Call inside the transaction of the change that causes
    it; the same idempotency key never makes a second message."""
    notification, created = Notification.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "recipient": recipient,
            "kind": kind,
            "subject": subject[:200],
            "body": body,
            "link": link,
            "letter": letter,
        },
    )
    if created:
        delivery.queue_delivery(notification)
    return notification


def notify_many(*, recipients, kind, subject, key, body="", link="", letter=None):
    """The same message to many people in a fixed number of queries; `key(user)` gives each
    one's idempotency key, so a repeated call adds nobody twice."""
    recipients = list(recipients)
    keys = {key(user): user for user in recipients}
    existing = set(Notification.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=user, kind=kind, subject=subject[:200], body=body, link=link, letter=letter, idempotency_key=k
            )
            for k, user in keys.items()
            if k not in existing
        ],
        ignore_conflicts=True,
    )
    for notification in Notification.objects.filter(idempotency_key__in=set(keys) - existing).only("pk"):
        delivery.queue_delivery(notification)


# --- confirmation ----------------------------------------------------------------------


def _leader_may_act(by, assessment):
    if not has_role(by, Role.DIVISION_LEADER) or assessment.task.department.division_leader_id != by.pk:
        raise PermissionDenied


def _locked_assessment(assessment_id, by):
    assessment = (
        SelfAssessment.objects.select_for_update(of=("self",))
        .select_related("task__department", "task__year", "stage", "updated_by")
        .get(pk=assessment_id)
    )
    _leader_may_act(by, assessment)
    return assessment


def _must_be_submitted(assessment, version):
    if assessment.version != version:
        raise StaleEdit(assessment)
    if assessment.state != SelfAssessment.State.SUBMITTED:
        raise ValidationError(_("This self-assessment is not waiting for confirmation."))


def _confirm(assessment, *, score, reason, by, version):
    _must_be_submitted(assessment, version)
    before = {"state": assessment.state, "confirmed_score": None}
    _bump(SelfAssessment, assessment, version=version, by=by, state=SelfAssessment.State.CONFIRMED)
    Confirmation.objects.create(assessment=assessment, score=score, reason=reason, confirmed_by=by)
    record_audit(
        actor=by,
        action="confirm self-assessment" if score == assessment.completion else "adjust self-assessment",
        subject=assessment,
        task=assessment.task,
        before=before,
        after={"state": SelfAssessment.State.CONFIRMED, "confirmed_score": score},
        reason=reason,
    )
    return assessment


@transaction.atomic
def confirm_as_submitted(*, assessments, by):
    """Confirm each (assessment, version) pair with its self score. All or nothing: one
    that is not the leader's, or changed meanwhile, stops the whole batch."""
    confirmed = []
    for assessment_id, version in assessments:
        assessment = _locked_assessment(assessment_id, by)
        confirmed.append(_confirm(assessment, score=assessment.completion, reason="", by=by, version=version))
    return confirmed


@transaction.atomic
def confirm_with_adjustment(*, assessment_id, version, score, reason, by):
    """Confirm with a score of the leader's own; a different score needs a written reason."""
    assessment = _locked_assessment(assessment_id, by)
    _check_score(score, "score")
    reason = (reason or "").strip()
    if Decimal(score) != assessment.completion and not reason:
        raise ValidationError({"reason": _("Say why the confirmed score differs from the self score.")})
    return _confirm(assessment, score=as_score(score), reason=reason, by=by, version=version)


@transaction.atomic
def return_assessment(*, assessment_id, version, comment, by):
    """Send a submitted assessment back to the department; the owner is told through the outbox."""
    assessment = _locked_assessment(assessment_id, by)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say what needs to change.")})
    _must_be_submitted(assessment, version)
    _bump(
        SelfAssessment, assessment, version=version, by=by, state=SelfAssessment.State.RETURNED, return_comment=comment
    )
    record_audit(
        actor=by,
        action="return self-assessment",
        subject=assessment,
        task=assessment.task,
        before={"state": SelfAssessment.State.SUBMITTED},
        after={"state": SelfAssessment.State.RETURNED},
        reason=comment,
    )
    task = assessment.task
    notify(
        recipient=task.owner,
        kind="assessment_returned",
        subject=_("Self-assessment returned: %(task)s") % {"task": task.title},
        body=comment,
        link=f"/tasks/{task.pk}/stages/{assessment.stage.number}/assess/",
        key=f"assessment-returned:{assessment.pk}:{assessment.version}",
    )
    return assessment


# --- meetings --------------------------------------------------------------------------


def _leadership_only(by):
    if not has_role(by, Role.LEADERSHIP):
        raise PermissionDenied


@transaction.atomic
def schedule_meeting(*, stage, date, place, attendees, by):
    """Schedule the review meeting of a stage (one per stage)."""
    _leadership_only(by)
    if ReviewMeeting.objects.filter(stage=stage).exists():
        raise ValidationError(_("This stage already has a meeting."))
    meeting = ReviewMeeting.objects.create(stage=stage, date=date, place=(place or "").strip())
    meeting.attendees.set(attendees)
    record_audit(actor=by, action="schedule meeting", subject=meeting, after={"date": date, "place": meeting.place})
    return meeting


def _ensure_ratings(meeting):
    """One rating per task of the year, prefilled with the confirmed score where there is one."""
    stage = meeting.stage
    year = stage.year
    existing = set(meeting.ratings.values_list("task_id", flat=True))
    confirmed = dict(Confirmation.objects.filter(assessment__stage=stage).values_list("assessment__task_id", "score"))
    new = []
    for task_id in KeyTask.objects.filter(year=year).values_list("pk", flat=True):
        if task_id in existing:
            continue
        score = confirmed.get(task_id)
        new.append(
            Rating(
                meeting=meeting,
                task_id=task_id,
                final_score=score,
                colour=colour_for(score, year) if score is not None else "",
            )
        )
    Rating.objects.bulk_create(new, ignore_conflicts=True)


@transaction.atomic
def open_meeting(*, meeting, by):
    """Open a scheduled meeting: every task of the year gets its rating to decide."""
    _leadership_only(by)
    locked = ReviewMeeting.objects.select_for_update().get(pk=meeting.pk)
    if locked.state == ReviewMeeting.State.CLOSED:
        raise ValidationError(_("The meeting is closed."))
    if locked.state == ReviewMeeting.State.SCHEDULED:
        locked.state = ReviewMeeting.State.IN_SESSION
        locked.opened_at = timezone.now()
        locked.save(update_fields=["state", "opened_at"])
        record_audit(
            actor=by,
            action="open meeting",
            subject=locked,
            before={"state": "scheduled"},
            after={"state": "in_session"},
        )
    _ensure_ratings(locked)
    return locked


@transaction.atomic
def set_rating(*, rating_id, version, final_score, score_reason, decision, next_stage_target, by):
    """Record the group's final score, handling decision and next stage's work for one task.
    The colour follows from the score; a score that differs from the confirmed one needs a reason."""
    _leadership_only(by)
    rating = Rating.objects.select_for_update(of=("self",)).select_related("meeting__stage__year").get(pk=rating_id)
    if rating.meeting.state != ReviewMeeting.State.IN_SESSION:
        raise ValidationError(_("Ratings change only while the meeting is in session; a closed meeting is amended."))
    if rating.version != version:
        raise StaleEdit(Rating.objects.select_related("updated_by").get(pk=rating.pk))
    if final_score is None:
        raise ValidationError({"final_score": _("Enter the final score.")})
    _check_score(final_score, "final_score")
    final_score = as_score(final_score)
    confirmed = confirmed_score(rating)
    score_reason = (score_reason or "").strip()
    if confirmed is not None and final_score != confirmed and not score_reason:
        raise ValidationError({"score_reason": _("Say why the final score differs from the confirmed score.")})
    before = {"final_score": rating.final_score, "colour": rating.colour}
    colour = colour_for(final_score, rating.meeting.stage.year)
    _bump(
        Rating,
        rating,
        version=version,
        by=by,
        final_score=final_score,
        colour=colour,
        score_reason=score_reason,
        decision=(decision or "").strip(),
        next_stage_target=(next_stage_target or "").strip(),
    )
    record_audit(
        actor=by,
        action="rate task",
        subject=rating,
        task_id=rating.task_id,
        before=before,
        after={"final_score": final_score, "colour": colour},
        reason=score_reason,
    )
    return rating


def confirmed_score(rating):
    confirmation = Confirmation.objects.filter(
        assessment__task_id=rating.task_id, assessment__stage=rating.meeting.stage_id
    )
    return confirmation.values_list("score", flat=True).first()


def red_at_previous_meeting(stage, task_ids=None):
    """IDs of the tasks that were red at the meeting of the stage before `stage` (one query)."""
    reds = Rating.objects.filter(
        meeting__stage__year_id=stage.year_id, meeting__stage__number=stage.number - 1, colour=Rating.Colour.RED
    )
    if task_ids is not None:
        reds = reds.filter(task_id__in=task_ids)
    return set(reds.values_list("task_id", flat=True))


def serious_reason(rating, year, previous_reds=None):
    """Why a case is serious, or "": the final score is below the year's serious threshold,
    or (when the year says so) the task was red at the previous meeting too. Pass
    `previous_reds` (from red_at_previous_meeting) when judging many ratings at once."""
    if rating.colour != Rating.Colour.RED and rating.colour != Rating.Colour.YELLOW:
        return ""
    if rating.final_score is not None and rating.final_score < year.serious_below:
        return _("Final score below %(limit)s.") % {"limit": f"{year.serious_below.normalize():f}"}
    if year.serious_when_red_twice and rating.colour == Rating.Colour.RED:
        if previous_reds is None:
            previous_reds = red_at_previous_meeting(rating.meeting.stage, [rating.task_id])
        if rating.task_id in previous_reds:
            return _("Red at the previous meeting too.")
    return ""


def _follow_up_for(rating, today, previous_reds=None):
    supervision = rating.colour == Rating.Colour.RED
    reason = serious_reason(rating, rating.meeting.stage.year, previous_reds)
    return FollowUp(
        rating=rating,
        kind=FollowUp.Kind.SUPERVISION if supervision else FollowUp.Kind.REMINDER,
        due_date=today + datetime.timedelta(days=SUPERVISION_DAYS if supervision else REMINDER_DAYS),
        serious=bool(reason),
        serious_reason=reason,
    )


def _commend(meeting, by):
    """A numbered commendation notice of the meeting's green tasks, sent to every user."""
    if not meeting.ratings.filter(colour=Rating.Colour.GREEN).exists():
        return None
    letter = issue_letter(kind=Letter.Kind.COMMENDATION, year=meeting.stage.year.year, by=by, meeting=meeting)
    subject = _("Commendation notice %(number)s: green lights of %(meeting)s") % {
        "number": letter.number,
        "meeting": meeting,
    }
    notify_many(
        recipients=User.objects.filter(is_active=True),
        kind="commendation",
        subject=subject,
        link=letter_link(letter),
        key=lambda user: f"letter:{letter.pk}:{user.pk}",
        letter=letter,
    )
    return letter


def close_meeting(*, meeting, by):
    """Close the meeting: freeze its ratings and open a follow-up case for every yellow and
    red one. Only when every task has a final score. Closing again, or two members closing
    at once, changes nothing more: the meeting row is locked and checked first."""
    _leadership_only(by)
    with transaction.atomic():
        locked = ReviewMeeting.objects.select_for_update().select_related("stage__year").get(pk=meeting.pk)
        if locked.state == ReviewMeeting.State.CLOSED:
            return locked
        if locked.state != ReviewMeeting.State.IN_SESSION:
            raise ValidationError(_("Open the meeting before closing it."))
        _ensure_ratings(locked)
        missing = locked.ratings.filter(final_score__isnull=True).count()
        if missing:
            raise ValidationError(
                _("%(count)s tasks have no final score yet; every task needs one before the meeting closes.")
                % {"count": missing}
            )
        locked.state = ReviewMeeting.State.CLOSED
        locked.closed_at = timezone.now()
        locked.closed_by = by
        locked.save(update_fields=["state", "closed_at", "closed_by"])
        today = timezone.localdate()
        to_follow = locked.ratings.filter(colour__in=[Rating.Colour.YELLOW, Rating.Colour.RED]).select_related(
            "meeting__stage__year"
        )
        previous_reds = red_at_previous_meeting(locked.stage)
        FollowUp.objects.bulk_create(
            [_follow_up_for(r, today, previous_reds) for r in to_follow], ignore_conflicts=True
        )
        _commend(locked, by)
        record_audit(
            actor=by,
            action="close meeting",
            subject=locked,
            before={"state": "in_session"},
            after={"state": "closed", "follow_ups": to_follow.count()},
        )
    return locked


@transaction.atomic
def amend_rating(*, rating_id, final_score, reason, by, version=None):
    """Correct a frozen rating with a reason. The original stays in the amendment record; a
    change of colour opens, retypes or closes the follow-up case (a recorded case step).
    Give the `version` the user saw so a concurrent amendment is refused, not overwritten."""
    _leadership_only(by)
    rating = (
        Rating.objects.select_for_update(of=("self",))
        .select_related("meeting__stage__year", "updated_by")
        .get(pk=rating_id)
    )
    if version is not None and rating.version != version:
        raise StaleEdit(rating)
    if rating.meeting.state != ReviewMeeting.State.CLOSED:
        raise ValidationError(_("Only a closed meeting's ratings are amended; change it in the meeting."))
    _check_score(final_score, "final_score")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the amendment.")})
    final_score = as_score(final_score)
    if final_score == rating.final_score:
        raise ValidationError({"final_score": _("The amended score is the same as the current one.")})
    old_score, old_colour = rating.final_score, rating.colour
    new_colour = colour_for(final_score, rating.meeting.stage.year)
    RatingAmendment.objects.create(
        rating=rating,
        old_score=old_score,
        new_score=final_score,
        old_colour=old_colour,
        new_colour=new_colour,
        reason=reason,
        amended_by=by,
    )
    _bump(Rating, rating, version=rating.version, by=by, final_score=final_score, colour=new_colour)
    # Imported here: the casework module builds on this one (letters, the outbox).
    from .cases import follow_amended_rating

    follow_amended_rating(rating, reason=reason, by=by)
    record_audit(
        actor=by,
        action="amend rating",
        subject=rating,
        task_id=rating.task_id,
        before={"final_score": old_score, "colour": old_colour},
        after={"final_score": final_score, "colour": new_colour},
        reason=reason,
    )
    return rating
