"""Follow-up casework of the discipline inspection office: every rule of a case lives here.

Every yellow or red rating opens a case at the meeting's close. Yellow: a reminder
(提醒督促) to the owner and the department. Red: a numbered supervision letter (发函督办),
an interview (约谈) with its notice and record, the owner's rectification, and closing with
a conclusion; any case may be escalated to accountability (问责). Each step is a CaseEvent
and an audit entry, written in one transaction with the messages it sends.

Which steps a case offers, in which state and to whom, is the table STEPS: the case page shows
`available_steps(case, user)` and each step's service refuses what the table does not allow.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lightboard import clock
from lightboard.versioning import bump, check_version
from outbox.services import notify
from tasks.audit import record_audit
from tasks.queries import owner_and_staff

from . import access
from .letters import default_text, issue_letter, letter_link, record_sending
from .models import CaseEvent, FollowUp, Letter, Rating

State = FollowUp.State
Kind = FollowUp.Kind
OPEN_STATES = (State.OPEN, State.NOTIFIED, State.INTERVIEW_SCHEDULED, State.INTERVIEWED, State.RECTIFYING)
CLOSED_STATES = (State.CLOSED, State.ESCALATED)

# Days from the meeting's close until a case is due.
REMINDER_DAYS = 15
SUPERVISION_DAYS = 30
# An interview is held from today to a year ahead: a notice for 2020 or 9999 is a slip.
INTERVIEW_WITHIN = datetime.timedelta(days=365)


# --- opening a case ------------------------------------------------------------------------


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
    if rating.colour not in (Rating.Colour.RED, Rating.Colour.YELLOW):
        return ""
    if rating.final_score is not None and rating.final_score < year.serious_below:
        return _("Final score below %(limit)s.") % {"limit": f"{year.serious_below.normalize():f}"}
    if year.serious_when_red_twice and rating.colour == Rating.Colour.RED:
        if previous_reds is None:
            previous_reds = red_at_previous_meeting(rating.meeting.stage, [rating.task_id])
        if rating.task_id in previous_reds:
            return _("Red at the previous meeting too.")
    return ""


def kind_for(rating):
    """Red is supervised by letter; yellow gets a reminder."""
    return Kind.SUPERVISION if rating.colour == Rating.Colour.RED else Kind.REMINDER


def new_case(rating, today, previous_reds=None):
    """The (unsaved) case a yellow or red rating opens on `today`."""
    kind = kind_for(rating)
    reason = serious_reason(rating, rating.meeting.stage.year, previous_reds)
    return FollowUp(
        rating=rating,
        kind=kind,
        due_date=today + datetime.timedelta(days=SUPERVISION_DAYS if kind == Kind.SUPERVISION else REMINDER_DAYS),
        serious=bool(reason),
        serious_reason=reason,
    )


def open_cases(meeting, today):
    """A case for every yellow and red rating of a meeting that is closing, in a fixed number
    of queries. Returns how many ratings are followed up."""
    to_follow = meeting.ratings.filter(colour__in=[Rating.Colour.YELLOW, Rating.Colour.RED]).select_related(
        "meeting__stage__year"
    )
    previous_reds = red_at_previous_meeting(meeting.stage)
    created = FollowUp.objects.bulk_create(
        [new_case(rating, today, previous_reds) for rating in to_follow], ignore_conflicts=True
    )
    return len(created)


# --- the steps of a case ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a case: who takes it (the office, or the owner's side), in which states of
    which kind of case, and what to say when it is asked for at the wrong time."""

    name: str
    service: Callable
    title: str
    button: str
    by_office: bool
    states: dict  # kind -> the states the step is taken from
    done: str  # what the page says once the step is taken; %(number)s: the letter's number
    letter_kind: str = ""  # the letter the step issues, if any
    primary: bool = True  # the case's way forward (closing and escalating are not)
    secondary_in: tuple = ()  # states in which the step is not the way forward (rescheduling)
    wrong_kind: str = ""
    too_early: dict = field(default_factory=dict)  # state -> why the step must wait

    def applies_to(self, case):
        return case.state in self.states.get(case.kind, ())

    def is_primary(self, case):
        return self.primary and case.state not in self.secondary_in

    def confirmation(self, case):
        """What the page says once the step is taken on the case."""
        letter = case.letters.filter(kind=self.letter_kind).first() if self.letter_kind else None
        return str(self.done) % {"number": letter.number if letter else ""}

    def may_take(self, user, case):
        return access.may_work_cases(user) if self.by_office else access.can_answer_case(user, case)

    def refusal(self, case):
        """Why the step cannot be taken on the case now, or "" when it can."""
        if self.applies_to(case):
            return ""
        if case.kind not in self.states and self.wrong_kind:
            return str(self.wrong_kind)
        if case.state in self.too_early:
            return str(self.too_early[case.state])
        return _("This case is %(state)s; that step does not apply now. Reload the page.") % {
            "state": case.get_state_display()
        }


# --- taking a step --------------------------------------------------------------------------


def _begin(step_name, *, case_id, version, by):
    """Lock the case and check that `by` may take the step now on the version they saw:
    PermissionDenied for the wrong person, StaleEdit or ValidationError otherwise."""
    step = STEPS_BY_NAME[step_name]
    case = (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("rating__task__owner", "rating__task__department", "rating__meeting__stage__year", "updated_by")
        .get(pk=case_id)
    )
    access.require(step.may_take(by, case))
    check_version(case, version)
    refusal = step.refusal(case)
    if refusal:
        raise ValidationError(refusal)
    return case


def _record_step(case, *, by, action, to_state=None, note="", **fields):
    """Move the case (a new version), and record the step as a case event and an audit entry."""
    before = case.state
    if to_state:
        fields["state"] = to_state
    if case.inspector_id is None and access.may_work_cases(by):
        fields["inspector"] = by
    bump(case, version=case.version, by=by, **fields)
    CaseEvent.objects.create(case=case, actor=by, action=action, from_state=before, to_state=case.state, note=note)
    record_audit(
        actor=by,
        action=f"case: {action}",
        subject=case,
        task_id=case.rating.task_id,
        before={"state": before},
        after={"state": case.state},
        reason=note,
    )
    return case


def _send_letter(letter, case, recipients, subject):
    sent = [
        notify(
            recipient=user,
            kind=f"letter_{letter.kind}",
            subject=subject,
            body=_("%(number)s: %(task)s") % {"number": letter.number, "task": case.rating.task.title},
            link=letter_link(letter),
            key=f"letter:{letter.pk}:{user.pk}",
        )
        for user in recipients
    ]
    record_sending(letter, sent)


def _required(value, field, message):
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def _issue(kind, case, by, text):
    """A numbered letter of the case, with the text the inspector read (and perhaps edited)."""
    year = case.rating.meeting.stage.year.year
    return issue_letter(kind=kind, year=year, by=by, case=case, body=(text or "").strip() or default_text(kind, case))


@transaction.atomic
def send_reminder(*, case_id, version, by, text=""):
    """Yellow: a numbered reminder notice to the owner and the department (提醒督促)."""
    case = _begin("reminder", case_id=case_id, version=version, by=by)
    task = case.rating.task
    letter = _issue(Letter.Kind.REMINDER, case, by, text)
    _send_letter(letter, case, owner_and_staff(task), _("Reminder: %(task)s") % {"task": task.title})
    return _record_step(case, by=by, action="reminder sent", to_state=State.NOTIFIED, note=letter.number)


@transaction.atomic
def issue_supervision_letter(*, case_id, version, by, text=""):
    """Red: a numbered supervision letter (发函督办) to the owner and the department."""
    case = _begin("supervision", case_id=case_id, version=version, by=by)
    task = case.rating.task
    letter = _issue(Letter.Kind.SUPERVISION, case, by, text)
    subject = _("Supervision letter %(number)s: %(task)s") % {"number": letter.number, "task": task.title}
    _send_letter(letter, case, owner_and_staff(task), subject)
    return _record_step(case, by=by, action="supervision letter issued", to_state=State.NOTIFIED, note=letter.number)


@transaction.atomic
def schedule_interview(*, case_id, version, at, place, participants, by):
    """Schedule (or move) the interview (约谈) of a red case; the owner gets a numbered notice."""
    case = _begin("interview", case_id=case_id, version=version, by=by)
    if at is None or not (place or "").strip():
        raise ValidationError({"place": _("Give the interview's time and place.")})
    today, day = clock.today(), timezone.localdate(at)
    earlier_today = day == today == timezone.localdate() and at < timezone.now()
    if earlier_today or not today <= day <= today + INTERVIEW_WITHIN:
        raise ValidationError(
            {"at": _("Choose a day from today to %(last)s.") % {"last": formats.date_format(today + INTERVIEW_WITHIN)}}
        )
    task = case.rating.task
    letter = case.letters.filter(kind=Letter.Kind.INTERVIEW).first() or issue_letter(
        kind=Letter.Kind.INTERVIEW, year=case.rating.meeting.stage.year.year, by=by, case=case
    )
    notice = notify(
        recipient=task.owner,
        kind="letter_interview",
        subject=_("Interview notice %(number)s") % {"number": letter.number},
        body=_("%(when)s, %(place)s: %(task)s")
        % {"when": formats.date_format(timezone.localtime(at), "DATETIME_FORMAT"), "place": place, "task": task.title},
        link=letter_link(letter),
        key=f"letter:{letter.pk}:{task.owner_id}:{at.isoformat()}",
    )
    record_sending(letter, [notice])
    return _record_step(
        case,
        by=by,
        action="interview scheduled",
        to_state=State.INTERVIEW_SCHEDULED,
        note=letter.number,
        interview_at=at,
        interview_place=place.strip(),
        interview_participants=(participants or "").strip(),
    )


@transaction.atomic
def record_interview(*, case_id, version, record, by):
    """Record what was said at the interview."""
    case = _begin("record", case_id=case_id, version=version, by=by)
    record = _required(record, "record", _("Write down the interview record."))
    return _record_step(case, by=by, action="interview recorded", to_state=State.INTERVIEWED, interview_record=record)


@transaction.atomic
def update_rectification(*, case_id, version, plan, progress, by):
    """The owner or the department's staff write the rectification plan and progress."""
    case = _begin("rectification", case_id=case_id, version=version, by=by)
    plan = _required(plan, "plan", _("Write the rectification plan."))
    return _record_step(
        case,
        by=by,
        action="rectification updated",
        to_state=State.RECTIFYING,
        rectification_plan=plan,
        rectification_progress=(progress or "").strip(),
    )


@transaction.atomic
def close_case(*, case_id, version, conclusion, by):
    """Close a case with a conclusion."""
    case = _begin("close", case_id=case_id, version=version, by=by)
    conclusion = _required(conclusion, "conclusion", _("Write the conclusion."))
    return _record_step(
        case,
        by=by,
        action="closed",
        to_state=State.CLOSED,
        note=conclusion,
        conclusion=conclusion,
        closed_at=timezone.now(),
    )


@transaction.atomic
def escalate(*, case_id, version, reason, by):
    """Start the accountability procedure (启动问责程序) with a reason."""
    case = _begin("escalate", case_id=case_id, version=version, by=by)
    reason = _required(reason, "reason", _("Give the reason for accountability."))
    return _record_step(
        case, by=by, action="escalated", to_state=State.ESCALATED, note=reason, escalation_reason=reason
    )


# --- which steps a case offers -------------------------------------------------------------

_INTERVIEW_FIRST = gettext_lazy("A red case is closed once its interview is recorded.")
_RED_RECTIFIED_LATER = gettext_lazy("A red case is rectified after the interview.")

STEPS = (
    Step(
        "reminder",
        send_reminder,
        gettext_lazy("Send the reminder"),
        gettext_lazy("Send the reminder"),
        by_office=True,
        states={Kind.REMINDER: (State.OPEN,)},
        done=gettext_lazy("Reminder notice %(number)s sent to the owner and the department."),
        letter_kind=Letter.Kind.REMINDER,
        wrong_kind=gettext_lazy("A red result gets a supervision letter, not a reminder."),
    ),
    Step(
        "supervision",
        issue_supervision_letter,
        gettext_lazy("Issue the supervision letter"),
        gettext_lazy("Issue the letter"),
        by_office=True,
        states={Kind.SUPERVISION: (State.OPEN,)},
        done=gettext_lazy("Supervision letter %(number)s issued to the owner and the department."),
        letter_kind=Letter.Kind.SUPERVISION,
        wrong_kind=gettext_lazy("A yellow result gets a reminder, not a supervision letter."),
    ),
    Step(
        "interview",
        schedule_interview,
        gettext_lazy("Schedule the interview"),
        gettext_lazy("Schedule and notify the owner"),
        by_office=True,
        states={Kind.SUPERVISION: (State.NOTIFIED, State.INTERVIEW_SCHEDULED)},
        done=gettext_lazy("Interview scheduled; notice %(number)s sent to the owner."),
        letter_kind=Letter.Kind.INTERVIEW,
        secondary_in=(State.INTERVIEW_SCHEDULED,),
        wrong_kind=gettext_lazy("Interviews follow a supervision letter (red results)."),
    ),
    Step(
        "record",
        record_interview,
        gettext_lazy("Record the interview"),
        gettext_lazy("Save the record"),
        by_office=True,
        states={Kind.SUPERVISION: (State.INTERVIEW_SCHEDULED,)},
        done=gettext_lazy("Interview record saved."),
    ),
    Step(
        "close",
        close_case,
        gettext_lazy("Close the case"),
        gettext_lazy("Close the case"),
        by_office=True,
        states={
            Kind.REMINDER: (State.NOTIFIED, State.RECTIFYING),
            Kind.SUPERVISION: (State.INTERVIEWED, State.RECTIFYING),
        },
        done=gettext_lazy("Case closed."),
        primary=False,
        too_early={
            State.OPEN: gettext_lazy("Send the reminder or the supervision letter first."),
            State.NOTIFIED: _INTERVIEW_FIRST,
            State.INTERVIEW_SCHEDULED: _INTERVIEW_FIRST,
        },
    ),
    Step(
        "escalate",
        escalate,
        gettext_lazy("Start accountability"),
        gettext_lazy("Escalate"),
        by_office=True,
        states=dict.fromkeys((Kind.REMINDER, Kind.SUPERVISION), OPEN_STATES),
        done=gettext_lazy("The accountability procedure is started."),
        primary=False,
    ),
    Step(
        "rectification",
        update_rectification,
        gettext_lazy("Rectification"),
        gettext_lazy("Save the rectification"),
        by_office=False,
        states={
            Kind.REMINDER: (State.NOTIFIED, State.RECTIFYING),
            Kind.SUPERVISION: (State.INTERVIEWED, State.RECTIFYING),
        },
        done=gettext_lazy("Rectification saved; the inspector sees it on the case."),
        too_early={State.NOTIFIED: _RED_RECTIFIED_LATER, State.INTERVIEW_SCHEDULED: _RED_RECTIFIED_LATER},
    ),
)
STEPS_BY_NAME = {step.name: step for step in STEPS}


# --- 签收: the owner acknowledges a letter, and the response clock starts ------------------------


def reply_days(letter, year):
    """Working days to reply from acknowledgement: per the year's rule for the kind of letter
    (an interview notice's answer is the interview itself)."""
    return {
        Letter.Kind.SUPERVISION: year.supervision_reply_days,
        Letter.Kind.REMINDER: year.reminder_reply_days,
    }.get(letter.kind)


@transaction.atomic
def acknowledge_letter(*, letter_id, by):
    """The owner, or a member of the task's department for the owner, confirms receipt of a
    case's letter. The reply is due the year's number of working days later. A letter is
    acknowledged once; a second time is refused and changes nothing."""
    letter = (
        Letter.objects.select_for_update(of=("self",))
        .select_related(
            "case__rating__task__owner", "case__rating__task__department", "case__rating__meeting__stage__year"
        )
        .get(pk=letter_id)
    )
    if letter.case is None:
        raise ValidationError(_("A commendation notice needs no acknowledgement."))
    case = letter.case
    task = case.rating.task
    if not access.may_acknowledge(by, letter):
        raise PermissionDenied
    if letter.acknowledged_at is None and not access.awaits_acknowledgement(letter):
        raise ValidationError(_("This letter's case has moved on: there is nothing to acknowledge."))
    if letter.acknowledged_at is not None:
        raise ValidationError(
            _("This letter was acknowledged on %(when)s by %(who)s.")
            % {"when": formats.date_format(timezone.localtime(letter.acknowledged_at), "SHORT_DATETIME_FORMAT"),
               "who": letter.acknowledged_by}
        )  # fmt: skip
    today = clock.today()
    days = reply_days(letter, case.rating.meeting.stage.year)
    letter.acknowledged_at = clock.now()
    letter.acknowledged_by = by
    letter.acknowledged_for = task.owner if by.pk != task.owner_id else None
    letter.reply_due = clock.add_working_days(today, days) if days else None
    letter.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledged_for", "reply_due"])
    note = _("%(letter)s %(number)s acknowledged") % {"letter": letter.get_kind_display(), "number": letter.number}
    if letter.acknowledged_for:
        note += _(" by %(by)s for %(owner)s") % {"by": by, "owner": task.owner}
    if letter.reply_due:
        note += _("; reply due %(date)s") % {"date": formats.date_format(letter.reply_due, "DATE_FORMAT")}
    CaseEvent.objects.create(
        case=case, actor=by, action=CaseEvent.Action.ACKNOWLEDGED, from_state=case.state, to_state=case.state, note=note
    )
    record_audit(actor=by, action="case: letter acknowledged", subject=case, task_id=task.pk, reason=note)
    if letter.issued_by_id != by.pk:
        notify(
            recipient=letter.issued_by,
            kind="letter_acknowledged",
            subject=_("Acknowledged: %(number)s") % {"number": letter.number},
            body=note,
            link=letter_link(letter),
            key=f"letter-acknowledged:{letter.pk}",
        )
    return letter


def available_steps(case, user):
    """The steps this user may take on the case now, in the order the case page shows them."""
    return [step for step in STEPS if step.applies_to(case) and step.may_take(user, case)]


# --- a rating amended after the meeting ------------------------------------------------------


def follow_amended_rating(rating, *, reason, by):
    """Bring the rating's case in line with an amended score, as a recorded step: amended to
    green, an open case closes; to yellow or red, a missing case opens, and a case of the
    other kind (or a closed one) starts again from its first step, so a red result always
    gets its supervision letter. The serious flag is judged again. An escalated case stays
    with the accountability procedure. Call inside the amendment's transaction."""
    case = (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("rating__task", "rating__meeting__stage__year")
        .filter(rating=rating)
        .first()
    )
    if case is not None and case.state == State.ESCALATED:
        return case
    note = _("Rating amended: %(reason)s") % {"reason": reason}
    if rating.colour == Rating.Colour.GREEN:
        if case is None or case.state == State.CLOSED:
            return case
        conclusion = _("Closed: the rating was amended to green (%(reason)s).") % {"reason": reason}
        return _record_step(
            case,
            by=by,
            action="closed",
            to_state=State.CLOSED,
            note=note,
            conclusion=conclusion,
            closed_at=timezone.now(),
        )
    if case is None:
        case = new_case(rating, clock.today())
        case.save()
        CaseEvent.objects.create(case=case, actor=by, action="amended", to_state=case.state, note=note)
        return case
    kind = kind_for(rating)
    reason_now = serious_reason(rating, rating.meeting.stage.year)
    restart = case.kind != kind or case.state == State.CLOSED
    return _record_step(
        case,
        by=by,
        action="amended",
        to_state=State.OPEN if restart else None,
        note=note,
        kind=kind,
        serious=bool(reason_now),
        serious_reason=reason_now,
        **({"conclusion": "", "closed_at": None} if restart else {}),
    )
