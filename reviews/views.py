import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lightboard.forms import add_service_errors
from lightboard.lights import LABELS
from tasks.models import Department, SelfAssessment, User
from tasks.queries import current_year
from tasks.roles import REPORT_READERS, Role, has_role, role_required

from . import cases, excel, queries, services
from .forms import (
    AdjustForm,
    AmendForm,
    CaseVersionForm,
    CloseCaseForm,
    EscalateForm,
    InterviewForm,
    InterviewRecordForm,
    RatingForm,
    RectificationForm,
    ReturnForm,
    ScheduleForm,
)
from .models import FollowUp, Letter, Notification, Rating, ReviewMeeting

# --- confirmation ----------------------------------------------------------------------


@role_required(Role.DIVISION_LEADER)
def confirmations(request):
    """The leader's queue; POST confirms the ticked assessments as submitted."""
    if request.method == "POST":
        pairs = []
        for value in request.POST.getlist("confirm"):
            assessment_id, _sep, version = value.partition(":")
            if not (assessment_id.isdigit() and version.isdigit()):
                raise Http404
            pairs.append((int(assessment_id), int(version)))
        if not pairs:
            messages.error(request, _("Tick the self-assessments to confirm."))
        else:
            try:
                services.confirm_as_submitted(assessments=pairs, by=request.user)
            except SelfAssessment.DoesNotExist:
                raise Http404 from None
            except services.StaleEdit as stale:
                messages.error(request, str(stale))
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("%(count)s self-assessments confirmed.") % {"count": len(pairs)})
        return redirect("reviews:confirmations")
    queue = queries.confirmation_queue(request.user, page=_int_or_none(request.GET.get("page")) or 1)
    return render(request, "reviews/confirmations.html", {"queue": queue})


def _queued_assessment(request, assessment_id):
    """A submitted assessment of a department the leader leads, else 404."""
    try:
        return (
            SelfAssessment.objects.select_related(
                "task__department", "task__owner", "task__year", "stage", "updated_by"
            )
            .prefetch_related("evidence")
            .get(pk=assessment_id, task__department__division_leader=request.user)
        )
    except SelfAssessment.DoesNotExist:
        raise Http404 from None


@role_required(Role.DIVISION_LEADER)
def confirmation_detail(request, assessment_id):
    assessment = _queued_assessment(request, assessment_id)
    adjust_form = AdjustForm(initial={"score": assessment.completion, "version": assessment.version})
    return_form = ReturnForm(initial={"version": assessment.version})
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        form = AdjustForm(request.POST) if action == "adjust" else ReturnForm(request.POST)
        if action == "adjust":
            adjust_form = form
        else:
            return_form = form
        if form.is_valid():
            try:
                if action == "adjust":
                    services.confirm_with_adjustment(
                        assessment_id=assessment.pk,
                        version=form.cleaned_data["version"],
                        score=form.cleaned_data["score"],
                        reason=form.cleaned_data["reason"],
                        by=request.user,
                    )
                    messages.success(request, _("Confirmed: %(task)s") % {"task": assessment.task})
                else:
                    services.return_assessment(
                        assessment_id=assessment.pk,
                        version=form.cleaned_data["version"],
                        comment=form.cleaned_data["comment"],
                        by=request.user,
                    )
                    messages.success(request, _("Returned to the department: %(task)s") % {"task": assessment.task})
                return redirect("reviews:confirmations")
            except services.StaleEdit as stale:
                form.add_error(None, str(stale))
            except ValidationError as error:
                add_service_errors(form, error)
        status = 400
    return render(
        request,
        "reviews/confirmation_detail.html",
        {
            "assessment": assessment,
            "target": assessment.task.targets.filter(stage=assessment.stage)
            .values_list("description", flat=True)
            .first(),
            "adjust_form": adjust_form,
            "return_form": return_form,
        },
        status=status,
    )


# --- meetings --------------------------------------------------------------------------


def _meeting(meeting_id):
    return get_object_or_404(ReviewMeeting.objects.select_related("stage__year", "closed_by"), pk=meeting_id)


@role_required(Role.LEADERSHIP)
def meetings(request):
    year = current_year()
    if year is None:
        raise Http404
    form = ScheduleForm(year=year)
    status = 200
    if request.method == "POST":
        form = ScheduleForm(request.POST, year=year)
        if form.is_valid():
            try:
                meeting = services.schedule_meeting(by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Meeting scheduled: %(meeting)s") % {"meeting": meeting})
                return redirect("reviews:meetings")
        status = 400
    return render(
        request,
        "reviews/meetings.html",
        {"year": year, "stages": queries.meetings_of_year(year), "form": form},
        status=status,
    )


@require_POST
@role_required(Role.LEADERSHIP)
def meeting_open(request, meeting_id):
    meeting = _meeting(meeting_id)
    try:
        services.open_meeting(meeting=meeting, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("reviews:meetings")
    return redirect("reviews:board", meeting_id=meeting.pk)


@require_POST
@role_required(Role.LEADERSHIP)
def meeting_close(request, meeting_id):
    meeting = _meeting(meeting_id)
    try:
        services.close_meeting(meeting=meeting, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("reviews:board", meeting_id=meeting.pk)
    messages.success(request, _("The meeting is closed; its ratings are frozen."))
    return redirect("reviews:minutes", meeting_id=meeting.pk)


def _int_or_none(value):
    return int(value) if value and value.isdigit() else None


def render_board_rows(request, board, meeting):
    """The board's rows as HTML, from the Jinja2 fragment (the page's hot spot). Jinja2
    autoescapes the values; the result is safe to insert as it is (the Django backend's
    Jinja2 template returns a plain str, which the page would escape again)."""
    labels = {key: str(label) for key, label in LABELS.items()}
    html = render_to_string(
        "reviews/board_rows.jinja",
        {
            "board": board,
            "labels": labels,
            "colour_keys": queries.COLOUR_KEYS,
            "columns": 8,
            "task_base": "/tasks/",
            "present_url": reverse("reviews:present", args=[meeting.pk]),
            "amend_base": "/reviews/ratings/",
            "can_rate": meeting.state == ReviewMeeting.State.IN_SESSION,
            "can_amend": meeting.is_closed,
            "rate_label": _("Rate"),
            "amend_label": _("Amend"),
            "empty_label": _("No tasks match."),
        },
        request=request,
        using="jinja2",
    )
    return mark_safe(html)


@role_required(Role.LEADERSHIP)
def board(request, meeting_id):
    meeting = _meeting(meeting_id)
    if meeting.state == ReviewMeeting.State.SCHEDULED:
        return render(request, "reviews/meeting_scheduled.html", {"meeting": meeting})
    colour = request.GET.get("colour", "")
    if colour not in queries.COLOUR_KEYS:
        colour = ""
    department_id = _int_or_none(request.GET.get("department"))
    owner_id = _int_or_none(request.GET.get("owner"))
    the_board = queries.board(meeting, colour=colour, department_id=department_id, owner_id=owner_id)
    context = {
        "meeting": meeting,
        "board": the_board,
        "rows_html": render_board_rows(request, the_board, meeting),
        "colour": colour,
        "department_id": department_id,
        "owner_id": owner_id,
        "colour_keys": queries.COLOUR_KEYS,
    }
    if request.htmx:
        return render(request, "reviews/board.html#board-body", context)
    context["departments"] = Department.objects.order_by("code")
    context["owners"] = User.objects.filter(owned_tasks__year=meeting.stage.year).distinct().order_by("username")
    return render(request, "reviews/board.html", context)


@role_required(Role.LEADERSHIP)
def present(request, meeting_id):
    """Meeting mode: one task at a time, large type, keyboard navigation."""
    meeting = _meeting(meeting_id)
    if meeting.state == ReviewMeeting.State.SCHEDULED:
        return redirect("reviews:board", meeting_id=meeting.pk)
    everything = request.GET.get("all") == "1"
    sequence = queries.discussion_sequence(meeting, everything=everything)
    requested = _int_or_none(request.GET.get("rating"))
    if requested is not None and requested not in sequence:
        everything, sequence = True, queries.discussion_sequence(meeting, everything=True)
    if not sequence:
        return render(request, "reviews/present.html", {"meeting": meeting, "detail": None, "everything": everything})
    position = sequence.index(requested) if requested in sequence else 0
    detail = queries.rating_detail(sequence[position], meeting)
    rating = detail["rating"]
    form = RatingForm(
        initial={
            "final_score": rating.final_score,
            "score_reason": rating.score_reason,
            "decision": rating.decision,
            "next_stage_target": rating.next_stage_target or detail["planned_next_target"],
            "version": rating.version,
        }
    )
    status = 200
    if request.method == "POST":
        if requested != rating.pk:
            # The form named another task (of another meeting, or gone): never save it elsewhere.
            raise Http404
        form = RatingForm(request.POST)
        if form.is_valid():
            try:
                services.set_rating(rating_id=rating.pk, by=request.user, **form.cleaned_data)
            except services.StaleEdit as stale:
                form.add_error(None, str(stale))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Saved: %(task)s") % {"task": rating.task})
                return redirect(_present_url(meeting, rating.pk, everything))
        status = 400
    return render(
        request,
        "reviews/present.html",
        {
            "meeting": meeting,
            "detail": detail,
            "form": form,
            "everything": everything,
            "position": position + 1,
            "total": len(sequence),
            "previous_url": _present_url(meeting, sequence[position - 1], everything) if position > 0 else "",
            "next_url": _present_url(meeting, sequence[position + 1], everything)
            if position + 1 < len(sequence)
            else "",
            "editable": meeting.state == ReviewMeeting.State.IN_SESSION,
        },
        status=status,
    )


def _present_url(meeting, rating_id, everything):
    url = f"{reverse('reviews:present', args=[meeting.pk])}?rating={rating_id}"
    return url + "&all=1" if everything else url


@role_required(*REPORT_READERS)
def minutes(request, meeting_id):
    meeting = _meeting(meeting_id)
    if not meeting.is_closed:
        raise Http404
    return render(request, "reviews/minutes.html", {"minutes": queries.minutes(meeting)})


@role_required(*REPORT_READERS)
def minutes_xlsx(request, meeting_id):
    meeting = _meeting(meeting_id)
    if not meeting.is_closed:
        raise Http404
    content = excel.minutes_workbook(queries.minutes(meeting))
    filename = f"{meeting.stage.year.year}-{meeting.stage.number}-会议纪要.xlsx"
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=filename)


@role_required(Role.LEADERSHIP)
def amend(request, rating_id):
    rating = get_object_or_404(
        Rating.objects.select_related("task__department", "meeting__stage__year").prefetch_related(
            "amendments__amended_by"
        ),
        pk=rating_id,
    )
    if not rating.meeting.is_closed:
        raise Http404
    form = AmendForm(initial={"final_score": rating.final_score, "version": rating.version})
    status = 200
    if request.method == "POST":
        form = AmendForm(request.POST)
        if form.is_valid():
            try:
                services.amend_rating(rating_id=rating.pk, by=request.user, **form.cleaned_data)
            except services.StaleEdit as stale:
                form.add_error(None, str(stale))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Amended: %(task)s") % {"task": rating.task})
                return redirect("reviews:board", meeting_id=rating.meeting_id)
        status = 400
    return render(request, "reviews/amend.html", {"rating": rating, "form": form}, status=status)


# --- inbox and reports -----------------------------------------------------------------


INBOX_PAGE = 100


@login_required
def inbox(request):
    """The in-app inbox: the notification rows themselves. Opening it marks them read."""
    notifications = list(request.user.notifications.select_related("letter").order_by("-created_at")[:INBOX_PAGE])
    unread = [n.pk for n in notifications if n.read_at is None]
    if unread:
        Notification.objects.filter(pk__in=unread).update(read_at=timezone.now())
    return render(request, "reviews/inbox.html", {"notifications": notifications, "unread_ids": set(unread)})


@login_required
def inbox_count(request):
    """The unread count in the header, refreshed by htmx."""
    return render(request, "base.html#inbox-count", {"unread_count": queries.unread_count(request.user)})


# --- follow-up -------------------------------------------------------------------------


@role_required(Role.INSPECTOR)
def followups(request):
    colour = request.GET.get("colour", "")
    state = request.GET.get("state", "")
    queue = queries.follow_up_queue(
        colour=colour if colour in ("red", "yellow") else "",
        department_id=_int_or_none(request.GET.get("department")),
        state=state if state in FollowUp.State.values else "",
        inspector_id=_int_or_none(request.GET.get("inspector")),
        page=_int_or_none(request.GET.get("page")) or 1,
    )
    context = {
        "queue": queue,
        "colour": colour,
        "state": state,
        "department_id": _int_or_none(request.GET.get("department")),
        "inspector_id": _int_or_none(request.GET.get("inspector")),
        "states": FollowUp.State.choices,
    }
    if request.htmx:
        return render(request, "reviews/followups.html#queue", context)
    context["departments"] = Department.objects.order_by("code")
    context["inspectors"] = User.objects.filter(groups__name=Role.INSPECTOR.value).order_by("username")
    return render(request, "reviews/followups.html", context)


CASE_ACTIONS = {
    "reminder": (CaseVersionForm, lambda case, by, data: cases.send_reminder(case_id=case.pk, by=by, **data)),
    "supervision": (
        CaseVersionForm,
        lambda case, by, data: cases.issue_supervision_letter(case_id=case.pk, by=by, **data),
    ),
    "interview": (InterviewForm, lambda case, by, data: cases.schedule_interview(case_id=case.pk, by=by, **data)),
    "record": (InterviewRecordForm, lambda case, by, data: cases.record_interview(case_id=case.pk, by=by, **data)),
    "rectification": (
        RectificationForm,
        lambda case, by, data: cases.update_rectification(case_id=case.pk, by=by, **data),
    ),
    "close": (CloseCaseForm, lambda case, by, data: cases.close_case(case_id=case.pk, by=by, **data)),
    "escalate": (EscalateForm, lambda case, by, data: cases.escalate(case_id=case.pk, by=by, **data)),
}


def _case_for_user(request, case_id):
    try:
        case = queries.case_detail(case_id)
    except FollowUp.DoesNotExist:
        raise Http404 from None
    if not cases.can_see_case(request.user, case):
        raise Http404
    return case


@login_required
def case_detail(request, case_id):
    case = _case_for_user(request, case_id)
    forms_by_action = {
        name: form_class(initial={"version": case.version}) for name, (form_class, _do) in CASE_ACTIONS.items()
    }
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in CASE_ACTIONS:
            raise Http404
        form_class, do = CASE_ACTIONS[action]
        form = forms_by_action[action] = form_class(request.POST)
        if form.is_valid():
            try:
                do(case, request.user, form.cleaned_data)
            except services.StaleEdit as stale:
                # Shown at the top of the page: the step's form may be hidden in the case's
                # current state (someone else moved it on), so an error on it would be lost.
                messages.error(request, str(stale))
            except ValidationError as error:
                error = _case_error(error)
                if hasattr(error, "error_dict"):
                    add_service_errors(form, error)
                else:
                    for message in error.messages:
                        messages.error(request, message)
            else:
                messages.success(request, _("Saved."))
                return redirect("reviews:case", case_id=case.pk)
        status = 400
    return render(
        request,
        "reviews/case.html",
        {
            "case": case,
            "forms": forms_by_action,
            "is_inspector": has_role(request.user, Role.INSPECTOR),
            "can_answer": cases.can_answer_case(request.user, case),
        },
        status=status,
    )


def _case_error(error):
    """The services name some fields after the model; map them onto the forms' names."""
    if not hasattr(error, "error_dict"):
        return error
    names = {
        "interview_place": "place",
        "interview_record": "record",
        "rectification_plan": "plan",
        "escalation_reason": "reason",
    }
    return ValidationError({names.get(key, key): value for key, value in error.error_dict.items()})


@login_required
def letter_detail(request, letter_id):
    """A printable letter. Commendation notices are for everyone; case letters for those who
    may see the case."""
    letter = get_object_or_404(
        Letter.objects.select_related(
            "case__rating__task__department__division_leader",
            "case__rating__task__owner",
            "case__rating__meeting__stage__year",
            "meeting__stage__year",
            "issued_by",
        ),
        pk=letter_id,
    )
    context = {"letter": letter}
    if letter.case is not None:
        if not cases.can_see_case(request.user, letter.case):
            raise Http404
        context["case"] = letter.case
    else:
        context["commended"] = queries.latest_commendation_for(letter)
    return render(request, "reviews/letter.html", context)
