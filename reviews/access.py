"""Who may confirm a self-assessment, run the review meetings, and see, work or answer a
follow-up case and its letters. Views, services and queries all ask here."""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.http import Http404

from lightboard.roles import Role, can_read_all, has_role
from lightboard.statements import CompiledQuery
from tasks.access import can_work_on, covers_cycle, in_scope, leading_as, leads, within_scope
from tasks.models import SelfAssessment
from tasks.queries import cycles_of

from .models import CaseEvent, FollowUp, Letter, Rectification, ReviewMeeting


def require(allowed):
    """Raise PermissionDenied (403, nothing changed) unless `allowed`."""
    if not allowed:
        raise PermissionDenied


# --- confirmation ----------------------------------------------------------------------


def assessments_of_led_departments(user):
    """The self-assessments the user confirms, as the division leader in charge of their
    departments; others do not exist for them."""
    return assessments_led_by(leading_as(user))


def assessments_led_by(leader_ids):
    """The self-assessments of the departments of these division leaders (tasks.access.leading_as)."""
    return SelfAssessment.objects.filter(task__department__division_leader_id__in=leader_ids)


def assessments_to_confirm(leader_ids):
    """Submitted self-assessments of the departments of these division leaders (leading_as)."""
    return assessments_led_by(leader_ids).filter(state=SelfAssessment.State.SUBMITTED)


def get_assessment_for_leader(user, assessment_id):
    """A self-assessment of a department the user leads, else 404."""
    try:
        return (
            assessments_of_led_departments(user)
            .select_related("task__department", "task__owner", "task__year", "stage", "updated_by")
            .prefetch_related("evidence")
            .get(pk=assessment_id)
        )
    except SelfAssessment.DoesNotExist:
        raise Http404 from None


# --- meetings ---------------------------------------------------------------------------


def may_run_meetings(user):
    """Members of a leadership group hold review meetings (of the cycles their role reaches)."""
    return has_role(user, Role.LEADERSHIP)


def may_run_meeting(user, meeting):
    """A meeting is held by the leadership group of its cycle, or of a unit above it."""
    return may_run_meetings(user) and covers_cycle(user, meeting.unit_id)


def may_schedule_for(user, unit_id):
    return may_run_meetings(user) and covers_cycle(user, unit_id)


def may_read_meeting(user, meeting):
    """The minutes of a meeting are read by the roles that reach its cycle."""
    return covers_cycle(user, meeting.unit_id)


# Behind the board, its filters, meeting mode and the minutes: compiled once per process.
MEETING_BY_ID = CompiledQuery(
    lambda pk: ReviewMeeting.objects.select_related("stage__year", "closed_by", "unit").filter(pk=pk).order_by(), 1
)


def get_meeting_for_user(user, meeting_id):
    """A meeting of a cycle the user's roles reach, else 404."""
    found = MEETING_BY_ID.instances(int(meeting_id))
    if not found or not may_read_meeting(user, found[0]):
        raise Http404
    return found[0]


# --- follow-up cases --------------------------------------------------------------------


def may_work_cases(user):
    """Discipline inspectors take the office's steps: reminders, letters, interviews, closing."""
    return has_role(user, Role.INSPECTOR)


def _department_of(case):
    return case.rating.task.department_id


def may_work_case(user, case):
    """An inspector works the cases of the units their role reaches."""
    return may_work_cases(user) and in_scope(user, _department_of(case))


def may_decide_exemptions(user):
    """The leadership group approves or refuses an exemption from accountability (容错免责)."""
    return has_role(user, Role.LEADERSHIP)


def may_decide_exemption(user, case):
    return may_decide_exemptions(user) and in_scope(user, _department_of(case))


def cases_in_reach(user, cases=None):
    """The cases (a FollowUp queryset) of the units the user's roles reach."""
    return within_scope(FollowUp.objects.all() if cases is None else cases, user, "rating__task__department")


def may_read_register(user):
    """The accountability register is the office's and the leadership group's."""
    return has_role(user, Role.INSPECTOR, Role.LEADERSHIP)


def can_answer_case(user, case):
    """The owner or staff of the task's department write the rectification."""
    task = case.rating.task
    return task.owner_id == user.pk or can_work_on(user, task.department)


def awaits_acknowledgement(letter):
    """A case's letter can be acknowledged while its case is open; an interview notice only
    until the interview is held."""
    case = letter.case
    if case is None or letter.acknowledged_at is not None:
        return False
    if letter.kind == Letter.Kind.INTERVIEW:
        return case.state == FollowUp.State.INTERVIEW_SCHEDULED
    return case.state not in (FollowUp.State.CLOSED, FollowUp.State.ESCALATED)


def letters_awaiting_acknowledgement():
    """The letters awaits_acknowledgement is true of, as a queryset."""
    closed = (FollowUp.State.CLOSED, FollowUp.State.ESCALATED)
    return (
        Letter.objects.filter(case__isnull=False, acknowledged_at__isnull=True)
        .exclude(case__state__in=closed)
        .exclude(Q(kind=Letter.Kind.INTERVIEW) & ~Q(case__state=FollowUp.State.INTERVIEW_SCHEDULED))
    )


def may_acknowledge(user, letter):
    """A case's letter is acknowledged by its owner, or by a member of the task's department
    for the owner (recorded as such)."""
    return letter.case is not None and can_answer_case(user, letter.case)


def can_see_case(user, case):
    """Inspectors and the leadership group see the cases of the units their roles reach; the
    division leader sees their departments'; the owner and the department's staff their own."""
    if has_role(user, Role.INSPECTOR, Role.LEADERSHIP) and in_scope(user, _department_of(case)):
        return True
    return leads(user, case.rating.task.department) or can_answer_case(user, case)


CASE_RELATIONS = (
    "rating__task__department__division_leader",
    "rating__task__owner",
    "rating__meeting__stage__year",
    "inspector",
    "updated_by",
)


# The case page's case with what it shows of its task and meeting: compiled once per process.
CASE_BY_ID = CompiledQuery(lambda pk: FollowUp.objects.select_related(*CASE_RELATIONS).filter(pk=pk).order_by(), 1)


def get_case_for_user(user, case_id):
    """A case with its steps and letters, or 404 for a user who may not see it."""
    found = CASE_BY_ID.instances(int(case_id))
    if not found or not can_see_case(user, found[0]):
        raise Http404
    case = found[0]
    prefetch_related_objects(
        [case],
        Prefetch("events", CaseEvent.objects.select_related("actor", "on_behalf_of")),
        "letters",
        Prefetch(
            "rectifications",
            Rectification.objects.select_related("submitted_by", "reviewed_by").prefetch_related("files"),
        ),
    )
    return case


def get_letter_for_user(user, letter_id):
    """A printable letter: a commendation notice for those it went to (everyone, for the
    group's meeting); a case's letter for those who may see the case. Else 404."""
    try:
        letter = Letter.objects.select_related(
            *(f"case__{relation}" for relation in CASE_RELATIONS),
            "meeting__stage__year",
            "issued_by",
            "acknowledged_by",
            "acknowledged_for",
        ).get(pk=letter_id)
    except Letter.DoesNotExist:
        raise Http404 from None
    if letter.case is not None and not can_see_case(user, letter.case):
        raise Http404
    if letter.case is None and not may_read_cycle_notice(user, letter.meeting):
        raise Http404
    return letter


def may_read_cycle_notice(user, meeting):
    """A meeting's commendation notice and 红黑榜 are for everyone after the group's meeting;
    after a subsidiary's, for its people and whoever's role reaches its cycle."""
    if meeting is None or meeting.unit_id is None:
        return True
    return (can_read_all(user) and covers_cycle(user, meeting.unit_id)) or meeting.unit_id in cycles_of(user)


# --- a case's discussion (a thread of its task's, tasks.access.register_thread_kind) --------


def case_thread(case):
    return f"case:{case.pk}"


def may_see_case_thread(user, case_id):
    case = FollowUp.objects.select_related("rating__task__department").filter(pk=case_id).first()
    return case is not None and can_see_case(user, case)
