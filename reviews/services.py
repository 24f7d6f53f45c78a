"""Write use cases of the reviews app: confirmation, review meetings, ratings and their
amendments. The follow-up casework is in `cases`. Views, admin, commands and Celery tasks call
these."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from lightboard import clock
from lightboard.lights import label_of, light_of, parse_score
from lightboard.roles import Role
from lightboard.versioning import bump, check_version
from outbox.services import Message, notify, notify_each, notify_many
from tasks import access as task_access
from tasks.audit import changes, record_audit
from tasks.models import KeyTask, SelfAssessment
from tasks.queries import org_tree, owner_and_staff, people_of_cycle

from . import access, cases, queries
from .letters import issue_letter, letter_link, record_sending
from .models import Confirmation, Letter, Rating, RatingAmendment, ReviewMeeting

# --- confirmation ----------------------------------------------------------------------


def _locked_assessment(assessment_id, by, version):
    """The submitted assessment, locked, if `by` leads its department (else DoesNotExist, as if it
    did not exist) and it is still at `version`."""
    assessment = (
        access.assessments_of_led_departments(by)
        .select_for_update(of=("self",))
        .select_related("task__department__division_leader", "task__year", "task__owner", "stage", "updated_by")
        .get(pk=assessment_id)
    )
    check_version(assessment, version)
    if not assessment.awaits_confirmation:
        raise ValidationError(_("This self-assessment is not waiting for confirmation."))
    return assessment


def _standing_in_for(by, assessment):
    """The division leader a deputy confirms or returns for, or None for the leader's own act."""
    return task_access.on_behalf_of(by, assessment.task.department.division_leader, Role.DIVISION_LEADER)


def _confirm(assessment, *, score, reason, by):
    bump(assessment, version=assessment.version, by=by, state=SelfAssessment.State.CONFIRMED)
    leader = _standing_in_for(by, assessment)
    Confirmation.objects.create(
        assessment=assessment, score=score, reason=reason, confirmed_by=by, confirmed_for=leader
    )
    record_audit(
        on_behalf_of=leader,
        actor=by,
        action="confirm self-assessment" if score == assessment.completion else "adjust self-assessment",
        subject=assessment,
        task=assessment.task,
        before={"state": SelfAssessment.State.SUBMITTED, "confirmed_score": None},
        after={"state": SelfAssessment.State.CONFIRMED, "confirmed_score": score},
        reason=reason,
    )
    _tell_owner_of_confirmation(assessment, score=score, reason=reason)
    return assessment


def _tell_owner_of_confirmation(assessment, *, score, reason):
    task, number = assessment.task, assessment.stage.number
    values = {"task": task.title, "number": number, "score": score, "self": assessment.completion}
    if score == assessment.completion:
        subject = _("Self-assessment confirmed: %(task)s, stage %(number)s, %(score)s%%") % values
    else:
        subject = _("Self score adjusted to %(score)s%% (was %(self)s%%): %(task)s, stage %(number)s") % values
    notify(
        recipient=task.owner,
        kind="assessment_confirmed",
        subject=subject,
        body=reason,
        link=reverse("tasks:detail", kwargs={"task_id": task.pk}),
        key=f"assessment-confirmed:{assessment.pk}",
    )


@transaction.atomic
def confirm_as_submitted(*, assessments, by):
    """Confirm each (assessment id, version) pair with its self score. All or nothing: one
    that is not the leader's, or changed meanwhile, stops the whole batch."""
    confirmed = []
    for assessment_id, version in assessments:
        assessment = _locked_assessment(assessment_id, by, version)
        confirmed.append(_confirm(assessment, score=assessment.completion, reason="", by=by))
    return confirmed


@transaction.atomic
def confirm_with_adjustment(*, assessment_id, version, score, reason, by):
    """Confirm with a score of the leader's own; a different score needs a written reason."""
    assessment = _locked_assessment(assessment_id, by, version)
    score = parse_score(score, field="score")
    reason = (reason or "").strip()
    if score != assessment.completion and not reason:
        raise ValidationError({"reason": _("Say why the confirmed score differs from the self score.")})
    return _confirm(assessment, score=score, reason=reason, by=by)


@transaction.atomic
def return_assessment(*, assessment_id, version, comment, by):
    """Send a submitted assessment back to the department with a comment; the owner is told."""
    assessment = _locked_assessment(assessment_id, by, version)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say what needs to change.")})
    bump(
        assessment,
        version=version,
        by=by,
        state=SelfAssessment.State.RETURNED,
        return_comment=comment,
        returned_by=by,
    )
    record_audit(
        on_behalf_of=_standing_in_for(by, assessment),
        actor=by,
        action="return self-assessment",
        subject=assessment,
        task=assessment.task,
        before={"state": SelfAssessment.State.SUBMITTED},
        after={"state": SelfAssessment.State.RETURNED},
        reason=comment,
    )
    task = assessment.task
    notify_many(
        recipients=owner_and_staff(task),
        kind="assessment_returned",
        subject=_("Self-assessment returned: %(task)s, stage %(number)s")
        % {"task": task.title, "number": assessment.stage.number},
        body=comment,
        link=reverse("tasks:assess", kwargs={"task_id": task.pk, "number": assessment.stage.number}),
        key=lambda user: f"assessment-returned:{assessment.pk}:{assessment.version}:{user.pk}",
    )
    return assessment


# --- meetings --------------------------------------------------------------------------


@transaction.atomic
def schedule_meeting(*, stage, date, place, attendees, by, unit=None):
    """Schedule the review meeting of a stage in a cycle: the group's (unit None) or a
    subsidiary's that runs its own (one per stage and cycle)."""
    access.require(access.may_schedule_for(by, unit.pk if unit else None))
    if unit is not None and not unit.runs_own_cycle:
        raise ValidationError(_("%(unit)s does not run its own review cycle.") % {"unit": unit})
    if ReviewMeeting.objects.filter(stage=stage, unit=unit).exists():
        raise ValidationError(_("This stage already has a meeting."))
    meeting = ReviewMeeting.objects.create(stage=stage, unit=unit, date=date, place=(place or "").strip())
    meeting.attendees.set(attendees)
    record_audit(actor=by, action="schedule meeting", subject=meeting, after={"date": date, "place": meeting.place})
    return meeting


def _ensure_ratings(meeting):
    """One rating per task of the year in the meeting's cycle, prefilled with the confirmed
    score where there is one."""
    stage = meeting.stage
    year = stage.year
    existing = set(meeting.ratings.values_list("task_id", flat=True))
    confirmed = queries.confirmed_scores(stage)
    departments = org_tree().in_cycle(meeting.unit_id)
    new = []
    for task_id in KeyTask.objects.filter(year=year, department_id__in=departments).values_list("pk", flat=True):
        if task_id in existing:
            continue
        score = confirmed.get(task_id)
        new.append(
            Rating(
                meeting=meeting,
                task_id=task_id,
                final_score=score,
                colour=light_of(score, year) if score is not None else "",
            )
        )
    Rating.objects.bulk_create(new, ignore_conflicts=True)


@transaction.atomic
def open_meeting(*, meeting, by):
    """Open a scheduled meeting: every task of the year in its cycle gets its rating to decide."""
    access.require(access.may_run_meeting(by, meeting))
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
    The light follows from the score; a score that differs from the confirmed one needs a reason."""
    access.require(access.may_run_meetings(by))
    rating = (
        Rating.objects.select_for_update(of=("self",))
        .select_related("meeting__stage__year", "updated_by")
        .get(pk=rating_id)
    )
    access.require(access.may_run_meeting(by, rating.meeting))
    if not rating.meeting.accepts_ratings:
        raise ValidationError(_("Ratings change only while the meeting is in session; a closed meeting is amended."))
    check_version(rating, version)
    if final_score is None:
        raise ValidationError({"final_score": _("Enter the final score.")})
    final_score = parse_score(final_score, field="final_score")
    confirmed = queries.confirmed_scores(rating.meeting.stage_id, [rating.task_id]).get(rating.task_id)
    score_reason = (score_reason or "").strip()
    if confirmed is not None and final_score != confirmed and not score_reason:
        raise ValidationError({"score_reason": _("Say why the final score differs from the confirmed score.")})
    before = {"final_score": rating.final_score, "colour": rating.colour}
    bump(
        rating,
        version=version,
        by=by,
        final_score=final_score,
        colour=light_of(final_score, rating.meeting.stage.year),
        score_reason=score_reason,
        decision=(decision or "").strip(),
        next_stage_target=(next_stage_target or "").strip(),
    )
    changed_before, changed_after = changes(before, {"final_score": final_score, "colour": rating.colour})
    record_audit(
        actor=by,
        action="rate task",
        subject=rating,
        task_id=rating.task_id,
        before=changed_before,
        after=changed_after,
        reason=score_reason,
    )
    return rating


def _tell_owners_their_lights(meeting):
    """Each owner hears the light the meeting gave their task, and the decision on it."""
    ratings = meeting.ratings.select_related("task__owner")
    notify_each(
        Message(
            recipient=rating.task.owner,
            kind="rating_light",
            subject=_("%(light)s at the %(meeting)s meeting: %(task)s, %(score)s%%")
            % {
                "light": label_of(rating.colour),
                "meeting": meeting,
                "task": rating.task.title,
                "score": rating.final_score,
            },
            body=rating.decision,
            link=reverse("tasks:detail", kwargs={"task_id": rating.task_id}),
            key=f"rating-light:{rating.pk}",
        )
        for rating in ratings
    )


def _commend(meeting, by):
    """A numbered commendation notice of the meeting's green tasks, sent to every user (for a
    subsidiary's meeting, to the people of its units and the group's readers)."""
    if not meeting.ratings.filter(colour=Rating.Colour.GREEN).exists():
        return None
    letter = issue_letter(kind=Letter.Kind.COMMENDATION, year=meeting.stage.year.year, by=by, meeting=meeting)
    subject = _("Commendation notice %(number)s: green lights of %(meeting)s") % {
        "number": letter.number,
        "meeting": meeting,
    }
    sent = notify_many(
        recipients=people_of_cycle(meeting.unit_id),
        kind="commendation",
        subject=subject,
        link=letter_link(letter),
        key=lambda user: f"letter:{letter.pk}:{user.pk}",
    )
    record_sending(letter, sent)
    return letter


@transaction.atomic
def close_meeting(*, meeting, by):
    """Close the meeting: freeze its ratings and open a follow-up case for every yellow and
    red one. Only when every task has a final score. Closing again, or two members closing
    at once, changes nothing more: the meeting row is locked and checked first."""
    access.require(access.may_run_meeting(by, meeting))
    locked = ReviewMeeting.objects.select_for_update().select_related("stage__year").get(pk=meeting.pk)
    if locked.state == ReviewMeeting.State.CLOSED:
        return locked
    if not locked.accepts_ratings:
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
    followed = cases.open_cases(locked, clock.today())
    _tell_owners_their_lights(locked)
    _commend(locked, by)
    record_audit(
        actor=by,
        action="close meeting",
        subject=locked,
        before={"state": "in_session"},
        after={"state": "closed", "follow_ups": followed},
    )
    return locked


@transaction.atomic
def amend_rating(*, rating_id, version, final_score, reason, by):
    """Correct a frozen rating with a reason. The original stays in the amendment record; a
    change of colour opens, retypes or closes the follow-up case (a recorded case step).
    `version` is the one the user saw: a concurrent amendment is refused, not overwritten."""
    access.require(access.may_run_meetings(by))
    rating = (
        Rating.objects.select_for_update(of=("self",))
        .select_related("meeting__stage__year", "updated_by")
        .get(pk=rating_id)
    )
    access.require(access.may_run_meeting(by, rating.meeting))
    check_version(rating, version)
    if rating.meeting.state != ReviewMeeting.State.CLOSED:
        raise ValidationError(_("Only a closed meeting's ratings are amended; change it in the meeting."))
    final_score = parse_score(final_score, field="final_score")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the amendment.")})
    if final_score == rating.final_score:
        raise ValidationError({"final_score": _("The amended score is the same as the current one.")})
    old_score, old_colour = rating.final_score, rating.colour
    new_colour = light_of(final_score, rating.meeting.stage.year)
    RatingAmendment.objects.create(
        rating=rating,
        old_score=old_score,
        new_score=final_score,
        old_colour=old_colour,
        new_colour=new_colour,
        reason=reason,
        amended_by=by,
    )
    bump(rating, version=rating.version, by=by, final_score=final_score, colour=new_colour)
    cases.follow_amended_rating(rating, reason=reason, by=by)
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
