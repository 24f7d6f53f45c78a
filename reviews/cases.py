"""Follow-up casework of the discipline inspection office: every rule of a case lives here.

Every yellow or red rating opens a case at the meeting's close. Yellow: a reminder
(提醒督促) to the owner and the department, answered with an explanation and the catch-up
measure. Red: a numbered supervision letter (发函督办), an interview (约谈) with its notice and
record, and the owner's rectification plan and reports with evidence (整改). The inspector
accepts or returns each answer; a case is closed (销号) once the answer it closes on is accepted,
or with the inspector's reason on the record; any case may be escalated to accountability
(问责). Each step is a CaseEvent and an audit entry, written in one transaction with the
messages it sends.

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
from lightboard.roles import Role
from lightboard.versioning import bump, check_version
from outbox.services import notify, notify_many
from tasks import access as task_access
from tasks.audit import record_audit
from tasks.evidence import EVIDENCE_MAX_FILES, check_evidence_file
from tasks.models import STAGES_PER_YEAR, KeyTask
from tasks.queries import active_members, owner_and_staff

from . import access
from .letters import case_link, default_text, issue_letter, letter_link, record_sending
from .models import Accountability, CaseEvent, FollowUp, Letter, Rating, Rectification, RectificationFile

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
    """IDs of the tasks that were red at the meeting of the stage before `stage` (one query).
    At a year's first stage that is last year's last meeting, for the tasks carried over from
    last year, when the year counts last year's red (serious_red_across_years)."""
    if stage.number == 1:
        if not stage.year.serious_red_across_years:
            return set()
        carried = KeyTask.objects.filter(
            year_id=stage.year_id,
            carried_from__ratings__meeting__stage__year__year=stage.year.year - 1,
            carried_from__ratings__meeting__stage__number=STAGES_PER_YEAR,
            carried_from__ratings__colour=Rating.Colour.RED,
        )
        if task_ids is not None:
            carried = carried.filter(pk__in=task_ids)
        return set(carried.values_list("pk", flat=True))
    reds = Rating.objects.filter(
        meeting__stage__year_id=stage.year_id, meeting__stage__number=stage.number - 1, colour=Rating.Colour.RED
    )
    if task_ids is not None:
        reds = reds.filter(task_id__in=task_ids)
    return set(reds.values_list("task_id", flat=True))


def held_to_account(person_ids):
    """Of these people, those the accountability register holds a case against (of any year,
    exempted ones aside). One query."""
    entries = Accountability.objects.filter(person_id__in=person_ids).exclude(state=Accountability.State.EXEMPTED)
    return set(entries.values_list("person_id", flat=True))


def serious_reason(rating, year, previous_reds=None, accountable=None):
    """Why a case is serious, or "": the final score is below the year's serious threshold,
    or (when the year says so) the task was red at the previous meeting too, or its owner is on
    the accountability register (any year, exemptions aside). Pass `previous_reds` (from
    red_at_previous_meeting) and `accountable` (from held_to_account) when judging many
    ratings at once."""
    if rating.colour not in (Rating.Colour.RED, Rating.Colour.YELLOW):
        return ""
    if rating.final_score is not None and rating.final_score < year.serious_below:
        return _("Final score below %(limit)s.") % {"limit": f"{year.serious_below.normalize():f}"}
    if year.serious_when_red_twice and rating.colour == Rating.Colour.RED:
        if previous_reds is None:
            previous_reds = red_at_previous_meeting(rating.meeting.stage, [rating.task_id])
        if rating.task_id in previous_reds:
            return _("Red at the previous meeting too.")
    owner_id = rating.task.owner_id
    if accountable is None:
        accountable = held_to_account([owner_id])
    if owner_id in accountable:
        return _("The owner is on the accountability register.")
    return ""


def kind_for(rating):
    """Red is supervised by letter; yellow gets a reminder."""
    return Kind.SUPERVISION if rating.colour == Rating.Colour.RED else Kind.REMINDER


def new_case(rating, today, previous_reds=None, accountable=None):
    """The (unsaved) case a yellow or red rating opens on `today`."""
    kind = kind_for(rating)
    reason = serious_reason(rating, rating.meeting.stage.year, previous_reds, accountable)
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
    to_follow = list(
        meeting.ratings.filter(colour__in=[Rating.Colour.YELLOW, Rating.Colour.RED]).select_related(
            "meeting__stage__year", "task"
        )
    )
    previous_reds = red_at_previous_meeting(meeting.stage)
    accountable = held_to_account({rating.task.owner_id for rating in to_follow})
    created = FollowUp.objects.bulk_create(
        [new_case(rating, today, previous_reds, accountable) for rating in to_follow], ignore_conflicts=True
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
    # case -> why the step must wait although the state allows it (a plan in review), or "".
    waits: Callable | None = None
    # Shown beside each item it acts on (a rectification to review), not as a card of its own.
    per_item: bool = False
    by_leadership: bool = False  # taken by the leadership group (an exemption's decision)

    def applies_to(self, case):
        return case.state in self.states.get(case.kind, ()) and not (self.waits and self.waits(case))

    def is_primary(self, case):
        return self.primary and case.state not in self.secondary_in

    def confirmation(self, case):
        """What the page says once the step is taken on the case."""
        letter = case.letters.filter(kind=self.letter_kind).first() if self.letter_kind else None
        return str(self.done) % {"number": letter.number if letter else ""}

    def may_take(self, user, case):
        if self.by_leadership:
            return access.may_decide_exemption(user, case)
        return access.may_work_case(user, case) if self.by_office else access.can_answer_case(user, case)

    def refusal(self, case):
        """Why the step cannot be taken on the case now, or "" when it can."""
        if self.applies_to(case):
            return ""
        if case.state in self.states.get(case.kind, ()):
            return str(self.waits(case))
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
        .select_related(
            "rating__task__owner", "rating__task__department", "rating__meeting__stage__year", "updated_by", "inspector"
        )
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
    if case.inspector_id is None and access.may_work_case(by, case):
        fields["inspector"] = by
    # A deputy inspector's step on the absent inspector's case is recorded as for them.
    standing_in = task_access.on_behalf_of(by, case.inspector, Role.INSPECTOR) if case.inspector_id else None
    bump(case, version=case.version, by=by, **fields)
    CaseEvent.objects.create(
        case=case, actor=by, on_behalf_of=standing_in, action=action, from_state=before, to_state=case.state, note=note
    )
    moved = before != case.state
    record_audit(
        on_behalf_of=standing_in,
        actor=by,
        action=f"case: {action}",
        subject=case,
        task_id=case.rating.task_id,
        before={"state": before} if moved else {},
        after={"state": case.state} if moved else {},
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


# --- the owner's answer (整改), reviewed by the inspector ---------------------------------------

RectKind = Rectification.Kind
RectState = Rectification.State
# The rectification a case needs accepted before it is closed (销号) without a stated reason.
CLOSES_ON = {Kind.SUPERVISION: RectKind.REPORT, Kind.REMINDER: RectKind.ANSWER}


def _latest(case, kind):
    """The case's latest rectification of a kind (from the prefetched list when there is one)."""
    latest = None
    for rectification in case.rectifications.all():
        if rectification.kind == kind:
            latest = rectification
    return latest


def is_rectified(case):
    """True when the rectification the case closes on was accepted."""
    return any(r.kind == CLOSES_ON[case.kind] and r.state == RectState.ACCEPTED for r in case.rectifications.all())


def _one_at_a_time(kind, in_review, accepted):
    """A step that submits a `kind` waits while the latest one awaits review or once it is
    accepted (a returned or superseded one is submitted again)."""

    def waits(case):
        latest = _latest(case, kind)
        state = latest.state if latest is not None else None
        return {RectState.SUBMITTED: str(in_review), RectState.ACCEPTED: str(accepted)}.get(state, "")

    return waits


plan_waits = _one_at_a_time(
    RectKind.PLAN,
    gettext_lazy("The rectification plan is awaiting the inspector's review."),
    gettext_lazy("The rectification plan is accepted; report on its progress."),
)
answer_waits = _one_at_a_time(
    RectKind.ANSWER,
    gettext_lazy("Your answer is awaiting the inspector's review."),
    gettext_lazy("Your answer is accepted."),
)


def report_waits(case):
    plan = _latest(case, RectKind.PLAN)
    if plan is None or plan.state in (RectState.RETURNED, RectState.SUPERSEDED):
        return _("Submit the rectification plan first.")
    report = _latest(case, RectKind.REPORT)
    if report is not None and report.state == RectState.SUBMITTED:
        return _("The rectification report is awaiting the inspector's review.")
    return ""


def review_waits(case):
    if not any(r.state == RectState.SUBMITTED for r in case.rectifications.all()):
        return _("Nothing of this case awaits review.")
    return ""


def _submit(case, *, by, kind, text, files=(), stored=None, **fields):
    """Write the owner's side's rectification (on a case _begin locked), tell the inspector,
    and move a notified or interviewed case to rectifying. Evidence files are in storage
    before their rows."""
    text = _required(text, "text", str(TEXT_NEEDED[kind]))
    problems = [message for message in map(check_evidence_file, files) if message]
    if problems:
        raise ValidationError({"files": problems})
    if len(files) > EVIDENCE_MAX_FILES:
        raise ValidationError({"files": _("At most %(count)s files at a time.") % {"count": EVIDENCE_MAX_FILES}})
    rectification = Rectification.objects.create(case=case, kind=kind, text=text, submitted_by=by, **fields)
    for upload in files:
        evidence = RectificationFile(rectification=rectification, original_name=upload.name[:200], size=upload.size)
        evidence.file.save(upload.name, upload, save=False)
        stored.append(evidence)
        evidence.save()
    task = case.rating.task
    label = rectification.get_kind_display()
    if case.inspector_id:
        # The case's inspector, and whoever stands in for them today (代理).
        notify_many(
            recipients=[case.inspector, *task_access.deputies_of(case.inspector, Role.INSPECTOR)],
            kind="rectification_submitted",
            subject=_("%(what)s submitted: %(task)s") % {"what": label, "task": task.title},
            body=text[:500],
            link=case_link(case),
            key=lambda user: f"rectification-submitted:{rectification.pk}:{user.pk}",
        )
    moves = case.state in (State.NOTIFIED, State.INTERVIEWED)
    note = label
    if by.pk != task.owner_id:
        note += _(" (by %(by)s for %(owner)s)") % {"by": by, "owner": task.owner}
    return _record_step(
        case, by=by, action="rectification submitted", to_state=State.RECTIFYING if moves else None, note=note
    )


@transaction.atomic
def submit_plan(*, case_id, version, by, text, responsible, target_date):
    """Red: the owner's side submits the rectification plan (measures, the person responsible,
    the target date) for the inspector's review."""
    case = _begin("plan", case_id=case_id, version=version, by=by)
    responsible = _required(responsible, "responsible", _("Name the person responsible."))
    if target_date is None or target_date < clock.today():
        raise ValidationError({"target_date": _("Give the target date, today or later.")})
    return _submit(case, by=by, kind=RectKind.PLAN, text=text, responsible=responsible, target_date=target_date)


def submit_report(*, case_id, version, by, text, files=()):
    """Red: the owner's side reports on the rectification, with evidence files. Files stored
    before a failure are removed from storage again."""
    stored = []
    try:
        with transaction.atomic():
            case = _begin("report", case_id=case_id, version=version, by=by)
            return _submit(case, by=by, kind=RectKind.REPORT, text=text, files=files, stored=stored)
    except BaseException:
        for evidence in stored:
            evidence.file.delete(save=False)
        raise


@transaction.atomic
def submit_answer(*, case_id, version, by, text, catch_up):
    """Yellow: the owner's side answers the reminder with an explanation and the catch-up measure."""
    case = _begin("answer", case_id=case_id, version=version, by=by)
    catch_up = _required(catch_up, "catch_up", _("Write the catch-up measure."))
    return _submit(case, by=by, kind=RectKind.ANSWER, text=text, catch_up=catch_up)


@transaction.atomic
def review_rectification(*, case_id, version, by, rectification, decision, comment):
    """The inspector accepts a rectification awaiting review, or returns it with a comment; the
    owner and whoever submitted it are told."""
    case = _begin("review", case_id=case_id, version=version, by=by)
    try:
        item = case.rectifications.select_for_update(of=("self",)).select_related("submitted_by").get(pk=rectification)
    except Rectification.DoesNotExist:
        raise ValidationError(_("That rectification is not of this case.")) from None
    if item.state != RectState.SUBMITTED:
        raise ValidationError(_("That rectification was already %(state)s.") % {"state": item.get_state_display()})
    comment = (comment or "").strip()
    if decision == "return" and not comment:
        raise ValidationError({"comment": _("Say what is missing: the owner reads it with the returned item.")})
    accepted = decision == "accept"
    item.state = RectState.ACCEPTED if accepted else RectState.RETURNED
    item.reviewed_by, item.reviewed_at, item.review_comment = by, timezone.now(), comment
    item.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_comment"])
    task = case.rating.task
    words = {"what": item.get_kind_display(), "task": task.title}
    subject = (_("Accepted: %(what)s, %(task)s") if accepted else _("Returned: %(what)s, %(task)s")) % words
    for recipient in {task.owner, item.submitted_by}:
        notify(
            recipient=recipient,
            kind="rectification_accepted" if accepted else "rectification_returned",
            subject=subject,
            body=comment,
            link=case_link(case),
            key=f"rectification-reviewed:{item.pk}:{recipient.pk}",
        )
    note = (
        _("%(what)s: %(comment)s") % {"what": item.get_kind_display(), "comment": comment}
        if comment
        else str(item.get_kind_display())
    )
    return _record_step(
        case, by=by, action="rectification accepted" if accepted else "rectification returned", note=note
    )


@transaction.atomic
def close_case(*, case_id, version, conclusion, by, reason=""):
    """Close a case (销号) with a conclusion: once its rectification is accepted (a red case's
    report, a yellow case's answer), or else with the inspector's reason, on the record."""
    case = _begin("close", case_id=case_id, version=version, by=by)
    if any(r.state == RectState.SUBMITTED for r in case.rectifications.all()):
        raise ValidationError(_("Accept or return what awaits review before closing the case."))
    conclusion = _required(conclusion, "conclusion", _("Write the conclusion."))
    reason = "" if is_rectified(case) else _required(reason, "reason", str(CLOSE_UNACCEPTED))
    note = conclusion
    if reason:
        note += _(" (closed without accepted rectification: %(reason)s)") % {"reason": reason}
    return _record_step(
        case,
        by=by,
        action="closed",
        to_state=State.CLOSED,
        note=note,
        conclusion=conclusion,
        closed_unaccepted_reason=reason,
        closed_at=timezone.now(),
    )


@transaction.atomic
def escalate(*, case_id, version, reason, by):
    """Start the accountability procedure (启动问责程序) with a reason."""
    case = _begin("escalate", case_id=case_id, version=version, by=by)
    reason = _required(reason, "reason", _("Give the reason for accountability."))
    task = case.rating.task
    Accountability.objects.create(
        case=case, person=task.owner, year=case.rating.meeting.stage.year.year, reason=reason, proposed_by=by
    )
    return _record_step(
        case, by=by, action="escalated", to_state=State.ESCALATED, note=reason, escalation_reason=reason
    )


# --- accountability (问责) and fault tolerance (容错纠错) -------------------------------------


def _register_entry(case):
    return Accountability.objects.select_for_update().get(case=case)


def accountability_waits(case, *states):
    if not hasattr(case, "_register_entry"):
        case._register_entry = Accountability.objects.filter(case=case).first()
    entry = case._register_entry
    if entry is None or entry.state not in states:
        return _("The accountability of this case is %(state)s.") % {
            "state": entry.get_state_display() if entry else "—"
        }
    return ""


@transaction.atomic
def decide_accountability(*, case_id, version, by, decision):
    """The office records the accountability decided (e.g. 通报批评) on the register."""
    case = _begin("decide", case_id=case_id, version=version, by=by)
    decision = _required(decision, "decision", _("Write the decision."))
    entry = _register_entry(case)
    entry.state, entry.decision = Accountability.State.DECIDED, decision
    entry.decided_by, entry.decided_at = by, timezone.now()
    entry.save()
    return _record_step(case, by=by, action="accountability decided", note=decision)


@transaction.atomic
def request_exemption(*, case_id, version, by, objective_cause, reason):
    """The office asks the leadership group to waive the accountability under the
    fault-tolerance rules (容错纠错): an objective cause, and why it excuses the result."""
    case = _begin("exempt", case_id=case_id, version=version, by=by)
    objective_cause = _required(objective_cause, "objective_cause", _("Describe the objective cause."))
    reason = _required(reason, "reason", _("Give the reason for the exemption."))
    entry = _register_entry(case)
    entry.state = Accountability.State.EXEMPTION_REQUESTED
    entry.objective_cause, entry.exemption_reason, entry.exemption_requested_by = objective_cause, reason, by
    entry.save()
    task = case.rating.task
    notify_many(
        recipients=active_members(Role.LEADERSHIP, reaching=task.department_id),
        kind="exemption_requested",
        subject=_("Exemption (容错) asked for: %(task)s") % {"task": task.title},
        body=f"{objective_cause}\n{reason}",
        link=case_link(case),
        key=lambda user: f"exemption-requested:{entry.pk}:{case.version}:{user.pk}",
    )
    note = _("Objective cause: %(cause)s Reason: %(reason)s") % {"cause": objective_cause, "reason": reason}
    return _record_step(case, by=by, action="exemption requested", note=note)


def _exemption_decided(case, by, *, approved, comment):
    entry = _register_entry(case)
    entry.state = Accountability.State.EXEMPTED if approved else Accountability.State.PROPOSED
    entry.exemption_decided_by, entry.exemption_decided_at, entry.exemption_comment = by, timezone.now(), comment
    entry.save()
    task = case.rating.task
    words = {"task": task.title}
    subject = (_("Exemption approved: %(task)s") if approved else _("Exemption refused: %(task)s")) % words
    notify_many(
        recipients={task.owner, *([case.inspector] if case.inspector_id else [])},
        kind="exemption_decided",
        subject=subject,
        body=comment,
        link=case_link(case),
        key=lambda user: f"exemption-decided:{entry.pk}:{case.version}:{user.pk}",
    )
    action = "exemption approved" if approved else "exemption refused"
    return _record_step(case, by=by, action=action, note=comment)


@transaction.atomic
def approve_exemption(*, case_id, version, by, comment=""):
    """The leadership group waives the accountability: the light stays red, the register
    keeps the case as exempted, with the cause and the reason."""
    case = _begin("approve_exemption", case_id=case_id, version=version, by=by)
    return _exemption_decided(case, by, approved=True, comment=(comment or "").strip())


@transaction.atomic
def refuse_exemption(*, case_id, version, by, comment):
    """The leadership group refuses the exemption, saying why; the accountability goes on."""
    case = _begin("refuse_exemption", case_id=case_id, version=version, by=by)
    comment = _required(comment, "comment", _("Say why the exemption is refused."))
    return _exemption_decided(case, by, approved=False, comment=comment)


# --- which steps a case offers -------------------------------------------------------------

_LETTER_FIRST = gettext_lazy("Send the reminder or the supervision letter first.")
_RECORD_FIRST = gettext_lazy("Record the interview first (or move it).")
TEXT_NEEDED = {
    RectKind.PLAN: gettext_lazy("Write the rectification measures."),
    RectKind.REPORT: gettext_lazy("Write what has been done."),
    RectKind.ANSWER: gettext_lazy("Write the explanation."),
}
CLOSE_UNACCEPTED = gettext_lazy(
    "No rectification of this case is accepted: give the reason for closing it anyway, or review it first."
)
ANSWERED_IN = (State.NOTIFIED, State.INTERVIEW_SCHEDULED, State.INTERVIEWED, State.RECTIFYING)

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
        states={Kind.SUPERVISION: (State.NOTIFIED, State.INTERVIEW_SCHEDULED, State.RECTIFYING)},
        done=gettext_lazy("Interview scheduled; notice %(number)s sent to the owner."),
        letter_kind=Letter.Kind.INTERVIEW,
        secondary_in=(State.INTERVIEW_SCHEDULED, State.RECTIFYING),
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
        "review",
        review_rectification,
        gettext_lazy("Review"),
        gettext_lazy("Accept"),
        by_office=True,
        # Also once escalated: what was submitted before is still answered.
        states=dict.fromkeys((Kind.REMINDER, Kind.SUPERVISION), (*ANSWERED_IN, State.ESCALATED)),
        done=gettext_lazy("Review saved; the owner is told."),
        waits=review_waits,
        per_item=True,
    ),
    Step(
        "close",
        close_case,
        gettext_lazy("Close the case"),
        gettext_lazy("Close the case"),
        by_office=True,
        states={
            Kind.REMINDER: (State.NOTIFIED, State.RECTIFYING),
            Kind.SUPERVISION: (State.NOTIFIED, State.INTERVIEWED, State.RECTIFYING),
        },
        done=gettext_lazy("Case closed."),
        primary=False,
        too_early={State.OPEN: _LETTER_FIRST, State.INTERVIEW_SCHEDULED: _RECORD_FIRST},
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
        "plan",
        submit_plan,
        gettext_lazy("Rectification plan"),
        gettext_lazy("Submit the plan"),
        by_office=False,
        states={Kind.SUPERVISION: ANSWERED_IN},
        done=gettext_lazy("Plan submitted; the inspector reviews it."),
        wrong_kind=gettext_lazy("A reminder is answered with an explanation, not a plan."),
        too_early={State.OPEN: _LETTER_FIRST},
        waits=plan_waits,
    ),
    Step(
        "report",
        submit_report,
        gettext_lazy("Rectification report"),
        gettext_lazy("Submit the report"),
        by_office=False,
        states={Kind.SUPERVISION: ANSWERED_IN},
        done=gettext_lazy("Report submitted; the inspector reviews it."),
        wrong_kind=gettext_lazy("A reminder is answered with an explanation, not a report."),
        too_early={State.OPEN: _LETTER_FIRST},
        waits=report_waits,
    ),
    Step(
        "answer",
        submit_answer,
        gettext_lazy("Answer the reminder"),
        gettext_lazy("Submit the answer"),
        by_office=False,
        states={Kind.REMINDER: (State.NOTIFIED, State.RECTIFYING)},
        done=gettext_lazy("Answer submitted; the inspector reviews it."),
        wrong_kind=gettext_lazy("A red case is answered with a rectification plan and reports."),
        too_early={State.OPEN: _LETTER_FIRST},
        waits=answer_waits,
    ),
    Step(
        "decide",
        decide_accountability,
        gettext_lazy("Record the accountability decided"),
        gettext_lazy("Record the decision"),
        by_office=True,
        states=dict.fromkeys((Kind.REMINDER, Kind.SUPERVISION), (State.ESCALATED,)),
        done=gettext_lazy("Decision recorded on the accountability register."),
        waits=lambda case: accountability_waits(case, Accountability.State.PROPOSED),
    ),
    Step(
        "exempt",
        request_exemption,
        gettext_lazy("Fault tolerance (容错纠错)"),
        gettext_lazy("Ask the leadership group to exempt"),
        by_office=True,
        states=dict.fromkeys((Kind.REMINDER, Kind.SUPERVISION), (State.ESCALATED,)),
        done=gettext_lazy("Exemption asked for; the leadership group decides."),
        primary=False,
        waits=lambda case: accountability_waits(case, Accountability.State.PROPOSED),
    ),
    Step(
        "approve_exemption",
        approve_exemption,
        gettext_lazy("Approve the exemption (容错免责)"),
        gettext_lazy("Approve the exemption"),
        by_office=False,
        by_leadership=True,
        states=dict.fromkeys((Kind.REMINDER, Kind.SUPERVISION), (State.ESCALATED,)),
        done=gettext_lazy("Exemption approved: the light stays red, the accountability is waived."),
        waits=lambda case: accountability_waits(case, Accountability.State.EXEMPTION_REQUESTED),
    ),
    Step(
        "refuse_exemption",
        refuse_exemption,
        gettext_lazy("Refuse the exemption"),
        gettext_lazy("Refuse the exemption"),
        by_office=False,
        by_leadership=True,
        states=dict.fromkeys((Kind.REMINDER, Kind.SUPERVISION), (State.ESCALATED,)),
        done=gettext_lazy("Exemption refused; the accountability goes on."),
        primary=False,
        waits=lambda case: accountability_waits(case, Accountability.State.EXEMPTION_REQUESTED),
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
    if restart:  # answered anew: what was submitted for the earlier round stays, superseded
        case.rectifications.exclude(state=RectState.RETURNED).update(state=RectState.SUPERSEDED)
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
