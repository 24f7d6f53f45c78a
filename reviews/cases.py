"""Follow-up casework of the discipline inspection office, and the numbered letters.

Every yellow or red rating opens a case at the meeting's close. Yellow: a reminder
(提醒督促) to the owner and the department. Red: a numbered supervision letter (发函督办),
an interview (约谈) with its notice and record, the owner's rectification, and closing with
a conclusion; any case may be escalated to accountability (问责). Each step is a CaseEvent
and an audit entry, written in one transaction with the messages it sends.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tasks.access import can_work_on
from tasks.models import User
from tasks.roles import Role, has_role
from tasks.services import record_audit

from .letters import issue_letter, letter_link
from .models import CaseEvent, FollowUp, Letter, Rating
from .services import StaleEdit, notify

State = FollowUp.State
OPEN_STATES = (State.OPEN, State.NOTIFIED, State.INTERVIEW_SCHEDULED, State.INTERVIEWED, State.RECTIFYING)


# --- access ------------------------------------------------------------------------------


def can_see_case(user, case):
    """Inspectors and the leadership group see every case; the division leader sees their
    departments'; the owner and the department's staff see their own."""
    task = case.rating.task
    if has_role(user, Role.INSPECTOR, Role.LEADERSHIP):
        return True
    if has_role(user, Role.DIVISION_LEADER) and task.department.division_leader_id == user.pk:
        return True
    return task.owner_id == user.pk or can_work_on(user, task.department)


def can_answer_case(user, case):
    """The owner or staff of the task's department write the rectification."""
    task = case.rating.task
    return task.owner_id == user.pk or can_work_on(user, task.department)


# --- steps -------------------------------------------------------------------------------


def _lock(case_id, version):
    case = (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("rating__task__owner", "rating__task__department", "rating__meeting__stage__year", "updated_by")
        .get(pk=case_id)
    )
    if version is not None and case.version != version:
        raise StaleEdit(case)
    return case


def _inspector(by):
    if not has_role(by, Role.INSPECTOR):
        raise PermissionDenied


def _require_state(case, *states):
    if case.state not in states:
        raise ValidationError(
            _("This case is %(state)s; that step does not apply now. Reload the page.")
            % {"state": case.get_state_display()}
        )


def _step(case, *, by, action, to_state=None, note="", **fields):
    before = case.state
    for name, value in fields.items():
        setattr(case, name, value)
    if to_state:
        case.state = to_state
    if case.inspector_id is None and has_role(by, Role.INSPECTOR):
        case.inspector = by
    case.version += 1
    case.updated_by = by
    case.save()
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


def _department_people(task):
    """The owner and the staff of the task's department, each once."""
    people = {task.owner_id: task.owner}
    for user in User.objects.filter(departments=task.department, groups__name=Role.STAFF.value, is_active=True):
        people.setdefault(user.pk, user)
    return list(people.values())


def _notify_about_letter(letter, case, recipients, subject):
    for user in recipients:
        notify(
            recipient=user,
            kind=f"letter_{letter.kind}",
            subject=subject,
            body=_("%(number)s: %(task)s") % {"number": letter.number, "task": case.rating.task.title},
            link=letter_link(letter),
            key=f"letter:{letter.pk}:{user.pk}",
            letter=letter,
        )


@transaction.atomic
def send_reminder(*, case_id, version, by):
    """Yellow: a numbered reminder notice to the owner and the department (提醒督促)."""
    _inspector(by)
    case = _lock(case_id, version)
    _require_state(case, State.OPEN)
    if case.kind != FollowUp.Kind.REMINDER:
        raise ValidationError(_("A red result gets a supervision letter, not a reminder."))
    year = case.rating.meeting.stage.year.year
    letter = issue_letter(kind=Letter.Kind.REMINDER, year=year, by=by, case=case)
    _notify_about_letter(
        letter, case, _department_people(case.rating.task), _("Reminder: %(task)s") % {"task": case.rating.task.title}
    )
    return _step(case, by=by, action="reminder sent", to_state=State.NOTIFIED, note=letter.number)


@transaction.atomic
def issue_supervision_letter(*, case_id, version, by):
    """Red: a numbered supervision letter (发函督办) to the owner and the department."""
    _inspector(by)
    case = _lock(case_id, version)
    _require_state(case, State.OPEN)
    if case.kind != FollowUp.Kind.SUPERVISION:
        raise ValidationError(_("A yellow result gets a reminder, not a supervision letter."))
    year = case.rating.meeting.stage.year.year
    letter = issue_letter(kind=Letter.Kind.SUPERVISION, year=year, by=by, case=case)
    _notify_about_letter(
        letter,
        case,
        _department_people(case.rating.task),
        _("Supervision letter %(number)s: %(task)s") % {"number": letter.number, "task": case.rating.task.title},
    )
    return _step(case, by=by, action="supervision letter issued", to_state=State.NOTIFIED, note=letter.number)


@transaction.atomic
def schedule_interview(*, case_id, version, at, place, participants, by):
    """Schedule the interview (约谈) of a red case; the owner gets a numbered notice."""
    _inspector(by)
    case = _lock(case_id, version)
    _require_state(case, State.NOTIFIED, State.INTERVIEW_SCHEDULED)
    if case.kind != FollowUp.Kind.SUPERVISION:
        raise ValidationError(_("Interviews follow a supervision letter (red results)."))
    if at is None or not (place or "").strip():
        raise ValidationError({"interview_place": _("Give the interview's time and place.")})
    year = case.rating.meeting.stage.year.year
    letter = case.letters.filter(kind=Letter.Kind.INTERVIEW).first()
    if letter is None:
        letter = issue_letter(kind=Letter.Kind.INTERVIEW, year=year, by=by, case=case)
    owner = case.rating.task.owner
    notify(
        recipient=owner,
        kind="letter_interview",
        subject=_("Interview notice %(number)s") % {"number": letter.number},
        body=_("%(when)s, %(place)s: %(task)s")
        % {"when": timezone.localtime(at).strftime("%Y-%m-%d %H:%M"), "place": place, "task": case.rating.task.title},
        link=letter_link(letter),
        key=f"letter:{letter.pk}:{owner.pk}:{at.isoformat()}",
        letter=letter,
    )
    return _step(
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
    _inspector(by)
    case = _lock(case_id, version)
    _require_state(case, State.INTERVIEW_SCHEDULED)
    if not (record or "").strip():
        raise ValidationError({"interview_record": _("Write down the interview record.")})
    return _step(case, by=by, action="interview recorded", to_state=State.INTERVIEWED, interview_record=record.strip())


@transaction.atomic
def update_rectification(*, case_id, version, plan, progress, by):
    """The owner or the department's staff write the rectification plan and progress."""
    case = _lock(case_id, version)
    if not can_answer_case(by, case):
        raise PermissionDenied
    _require_state(case, State.NOTIFIED, State.INTERVIEWED, State.RECTIFYING)
    if case.kind == FollowUp.Kind.SUPERVISION and case.state == State.NOTIFIED:
        raise ValidationError(_("A red case is rectified after the interview."))
    if not (plan or "").strip():
        raise ValidationError({"rectification_plan": _("Write the rectification plan.")})
    return _step(
        case,
        by=by,
        action="rectification updated",
        to_state=State.RECTIFYING,
        rectification_plan=plan.strip(),
        rectification_progress=(progress or "").strip(),
    )


@transaction.atomic
def close_case(*, case_id, version, conclusion, by):
    """Close a case with a conclusion."""
    _inspector(by)
    case = _lock(case_id, version)
    _require_state(case, *OPEN_STATES)
    if case.state == State.OPEN:
        raise ValidationError(_("Send the reminder or the supervision letter first."))
    if not (conclusion or "").strip():
        raise ValidationError({"conclusion": _("Write the conclusion.")})
    return _step(
        case,
        by=by,
        action="closed",
        to_state=State.CLOSED,
        note=conclusion.strip(),
        conclusion=conclusion.strip(),
        closed_at=timezone.now(),
    )


@transaction.atomic
def escalate(*, case_id, version, reason, by):
    """Start the accountability procedure (启动问责程序) with a reason."""
    _inspector(by)
    case = _lock(case_id, version)
    _require_state(case, *OPEN_STATES)
    if not (reason or "").strip():
        raise ValidationError({"escalation_reason": _("Give the reason for accountability.")})
    return _step(
        case, by=by, action="escalated", to_state=State.ESCALATED, note=reason.strip(), escalation_reason=reason.strip()
    )


def follow_amended_rating(rating, *, reason, by):
    """Bring the rating's case in line with an amended score, as a recorded step: amended to
    green, an open case closes; to yellow or red, a missing case opens, and a case of the
    other kind (or a closed one) starts again from its first step, so a red result always
    gets its supervision letter. The serious flag is judged again. An escalated case stays
    with the accountability procedure. Call inside the amendment's transaction."""
    from .services import _follow_up_for, serious_reason

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
        return _step(
            case,
            by=by,
            action="closed",
            to_state=State.CLOSED,
            note=note,
            conclusion=conclusion,
            closed_at=timezone.now(),
        )
    if case is None:
        case = _follow_up_for(rating, timezone.localdate())
        case.save()
        CaseEvent.objects.create(case=case, actor=by, action="amended", to_state=case.state, note=note)
        return case
    kind = FollowUp.Kind.SUPERVISION if rating.colour == Rating.Colour.RED else FollowUp.Kind.REMINDER
    reason_now = serious_reason(rating, rating.meeting.stage.year)
    restart = case.kind != kind or case.state == State.CLOSED
    return _step(
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
