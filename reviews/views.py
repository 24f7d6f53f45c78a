import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lightboard import clock
from lightboard.forms import show_service_error
from lightboard.lights import light_of
from lightboard.roles import READ_ALL_ROLES, Role, role_required
from tasks import access as task_access
from tasks import discussion
from tasks import queries as task_queries
from tasks.models import Department, SelfAssessment, User
from tasks.queries import current_year

from . import access, cases, documents, excel, queries, services
from .forms import CASE_STEP_FORMS, AdjustForm, AmendForm, RatingForm, ReturnForm, ScheduleForm
from .letters import default_text, letter_text
from .models import Accountability, FollowUp, Rating, Rectification, RectificationFile, ReviewMeeting


def _int_or_none(value):
    return int(value) if value and value.isdigit() else None


# --- confirmation ----------------------------------------------------------------------


def _ticked(request):
    """The (assessment id, version) pairs ticked in the queue; 404 for anything malformed."""
    pairs = []
    for value in request.POST.getlist("confirm"):
        assessment_id, _sep, version = value.partition(":")
        if not (assessment_id.isdigit() and version.isdigit()):
            raise Http404
        pairs.append((int(assessment_id), int(version)))
    return pairs


@role_required(Role.DIVISION_LEADER)
def confirmations(request):
    """The leader's queue; POST confirms the ticked assessments as submitted."""
    if request.method == "POST":
        pairs = _ticked(request)
        if not pairs:
            messages.error(request, _("Tick the self-assessments to confirm."))
            return redirect("reviews:confirmations")
        try:
            services.confirm_as_submitted(assessments=pairs, by=request.user)
        except SelfAssessment.DoesNotExist:
            raise Http404 from None
        except ValidationError as error:
            show_service_error(error, request=request)
        else:
            messages.success(request, _("%(count)s self-assessments confirmed.") % {"count": len(pairs)})
        return redirect("reviews:confirmations")
    queue = queries.confirmation_queue(request.user, page=_int_or_none(request.GET.get("page")) or 1)
    return render(request, "reviews/confirmations.html", {"queue": queue})


@role_required(Role.DIVISION_LEADER)
def confirmation_detail(request, assessment_id):
    assessment = access.get_assessment_for_leader(request.user, assessment_id)
    data = request.POST if request.method == "POST" else None
    adjusting = request.POST.get("action") == "adjust"
    adjust_form = AdjustForm(
        data if adjusting else None,
        initial={"score": assessment.completion, "version": assessment.version},
        auto_id="adjust-%s",
        preview_url=reverse("tasks:light_preview", args=[assessment.task_id]),
    )
    return_form = ReturnForm(
        data if data is not None and not adjusting else None,
        initial={"version": assessment.version},
        auto_id="return-%s",
    )
    if request.method == "POST":
        form = adjust_form if adjusting else return_form
        if form.is_valid():
            try:
                if adjusting:
                    services.confirm_with_adjustment(assessment_id=assessment.pk, by=request.user, **form.cleaned_data)
                    messages.success(request, _("Confirmed: %(task)s") % {"task": assessment.task})
                else:
                    services.return_assessment(assessment_id=assessment.pk, by=request.user, **form.cleaned_data)
                    messages.success(request, _("Returned to the department: %(task)s") % {"task": assessment.task})
                return redirect("reviews:confirmations")
            except ValidationError as error:
                show_service_error(error, form=form)
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
            "self_light": light_of(assessment.completion, assessment.task.year),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- meetings --------------------------------------------------------------------------


def _meeting(request, meeting_id):
    """A meeting the user's roles reach (its cycle's or a unit's above it), else 404."""
    return access.get_meeting_for_user(request.user, meeting_id)


def _chosen_cycle(request, cycles):
    """The cycle named by ?unit= (a unit's code) among those the user reaches; the first one
    (the user's own) when none is named; 404 for one out of reach."""
    code = request.GET.get("unit", "")
    if not code:
        return cycles[0]
    for unit in cycles:
        if unit is not None and unit.code == code:
            return unit
    raise Http404


@role_required(Role.LEADERSHIP)
def meetings(request):
    """The meetings of a cycle's year: the group's, or a subsidiary's that runs its own; a
    member whose role reaches several cycles switches between them."""
    year = current_year(clock.today())
    if year is None:
        raise Http404
    cycles = queries.cycles_in_reach(request.user)
    if not cycles:
        # Held for a unit that runs no cycle of its own (nor has one below it): nothing to hold.
        return render(request, "reviews/meetings.html", {"year": year, "no_cycle": True})
    unit = _chosen_cycle(request, cycles)
    form = ScheduleForm(
        request.POST or None,
        year=year,
        unit=unit,
        leadership=task_queries.members_of_cycle(Role.LEADERSHIP, unit.pk if unit else None),
    )
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.schedule_meeting(by=request.user, unit=unit, **form.cleaned_data)
        except ValidationError as error:
            show_service_error(error, form=form)
        else:
            messages.success(request, _("Meeting scheduled: %(meeting)s") % {"meeting": meeting})
            return redirect(request.get_full_path())
    stages = queries.meetings_of_year(year, unit)
    return render(
        request,
        "reviews/meetings.html",
        {
            "year": year,
            "unit": unit,
            "cycles": cycles if len(cycles) > 1 else [],
            "stages": stages,
            "form": form,
            # The form's stages are those without a meeting of the cycle: told from the rows read.
            "can_schedule": any(meeting is None for _stage, meeting in stages),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@role_required(Role.LEADERSHIP)
def meeting_open(request, meeting_id):
    meeting = _meeting(request, meeting_id)
    try:
        services.open_meeting(meeting=meeting, by=request.user)
    except ValidationError as error:
        show_service_error(error, request=request)
        return redirect("reviews:meetings")
    return redirect("reviews:board", meeting_id=meeting.pk)


@role_required(Role.LEADERSHIP)
def meeting_close(request, meeting_id):
    """Closing the meeting asks first, naming what is still missing; POST closes it."""
    meeting = _meeting(request, meeting_id)
    if request.method == "POST":
        try:
            services.close_meeting(meeting=meeting, by=request.user)
        except ValidationError as error:
            show_service_error(error, request=request)
            return redirect("reviews:close" if meeting.accepts_ratings else "reviews:board", meeting_id=meeting.pk)
        messages.success(request, _("The meeting is closed; its ratings are frozen."))
        return redirect("reviews:minutes", meeting_id=meeting.pk)
    if not meeting.accepts_ratings:
        return redirect("reviews:board", meeting_id=meeting.pk)
    return render(request, "reviews/meeting_close.html", {"meeting": meeting, "check": queries.closing_check(meeting)})


@role_required(Role.LEADERSHIP)
def board(request, meeting_id):
    meeting = _meeting(request, meeting_id)
    if meeting.state == ReviewMeeting.State.SCHEDULED:
        return render(request, "reviews/meeting_scheduled.html", {"meeting": meeting})
    colour = request.GET.get("colour", "")
    if colour not in queries.BOARD_KEYS:
        colour = ""
    department_id = _int_or_none(request.GET.get("department"))
    owner_id = _int_or_none(request.GET.get("owner"))
    board = queries.board(meeting, colour=colour, department_id=department_id, owner_id=owner_id)
    show_all = request.GET.get("all") == "1"
    # A large board opens on its departments and their counts; each department's rows come
    # on demand, and "show all" keeps the whole board one click away.
    summary = not (show_all or colour or department_id or owner_id) and board.size > queries.BOARD_SUMMARY_ABOVE
    context = {
        "meeting": meeting,
        "board": board,
        "summary": summary,
        "colour": colour,
        "department_id": department_id,
        "owner_id": owner_id,
        "colour_keys": queries.BOARD_KEYS,
    }
    if request.htmx and request.GET.get("part") == "department":
        return render(request, "reviews/board.html#department-rows", context)
    if request.htmx:
        return render(request, "reviews/board.html#board-body", context)
    in_meeting = meeting.ratings.values("task__department_id")
    context["departments"] = Department.objects.filter(pk__in=in_meeting).order_by("code")
    context["owners"] = User.objects.filter(owned_tasks__ratings__meeting=meeting).distinct().order_by("username")
    return render(request, "reviews/board.html", context)


@role_required(Role.LEADERSHIP)
def present(request, meeting_id):
    """Meeting mode: one task at a time, large type, keyboard navigation. A save names its
    rating in the form and comes back to the same task, in the same list."""
    meeting = _meeting(request, meeting_id)
    if meeting.state == ReviewMeeting.State.SCHEDULED:
        return redirect("reviews:board", meeting_id=meeting.pk)
    requested = _int_or_none(request.GET.get("rating"))
    if request.method == "POST":
        requested = _int_or_none(request.POST.get("rating"))
        if requested is None or not meeting.ratings.filter(pk=requested).exists():
            raise Http404  # never save onto a task of another meeting, or onto a guess
    discussion = queries.discussion(meeting, requested=requested, everything=request.GET.get("all") == "1")
    if discussion is None:
        return render(request, "reviews/present.html", {"meeting": meeting, "discussion": None})
    detail = queries.rating_detail(discussion.rating_id, meeting)
    rating = detail["rating"]
    if request.method == "POST":
        form = RatingForm(request.POST)
        if form.is_valid():
            fields = {name: value for name, value in form.cleaned_data.items() if name != "rating"}
            try:
                services.set_rating(rating_id=rating.pk, by=request.user, **fields)
            except ValidationError as error:
                show_service_error(error, form=form)
            else:
                messages.success(request, _("Saved: %(task)s") % {"task": rating.task})
                return redirect(_present_url(meeting, rating.pk, discussion.everything))
    else:
        form = RatingForm(
            initial={
                "final_score": rating.final_score,
                "score_reason": rating.score_reason,
                "decision": rating.decision,
                "next_stage_target": rating.next_stage_target or detail["planned_next_target"],
                "version": rating.version,
                "rating": rating.pk,
            }
        )
    return render(
        request,
        "reviews/present.html",
        {
            "meeting": meeting,
            "discussion": discussion,
            "detail": detail,
            "form": form,
            "previous_url": _present_url(meeting, discussion.previous_id, discussion.everything),
            "next_url": _present_url(meeting, discussion.next_id, discussion.everything),
        },
        status=400 if request.method == "POST" else 200,
    )


def _present_url(meeting, rating_id, everything):
    if rating_id is None:
        return ""
    url = f"{reverse('reviews:present', args=[meeting.pk])}?rating={rating_id}"
    return url + "&all=1" if everything else url


@role_required(*READ_ALL_ROLES)
def minutes(request, meeting_id):
    meeting = _meeting(request, meeting_id)
    if not meeting.is_closed:
        raise Http404
    return render(request, "reviews/minutes.html", {"minutes": queries.minutes(meeting)})


@role_required(*READ_ALL_ROLES)
def minutes_xlsx(request, meeting_id):
    meeting = _meeting(request, meeting_id)
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
    if not rating.meeting.is_closed or not access.may_run_meeting(request.user, rating.meeting):
        raise Http404
    form = AmendForm(request.POST or None, initial={"final_score": rating.final_score, "version": rating.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.amend_rating(rating_id=rating.pk, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            show_service_error(error, form=form)
        else:
            messages.success(request, _("Amended: %(task)s") % {"task": rating.task})
            return redirect("reviews:board", meeting_id=rating.meeting_id)
    return render(
        request, "reviews/amend.html", {"rating": rating, "form": form}, status=400 if request.method == "POST" else 200
    )


# --- follow-up -------------------------------------------------------------------------


@role_required(Role.INSPECTOR)
def followups(request):
    colour = request.GET.get("colour", "")
    state = request.GET.get("state", "")
    context = {
        "colour": colour if colour in ("red", "yellow") else "",
        "state": state if state in FollowUp.State.values else "",
        "department_id": _int_or_none(request.GET.get("department")),
        "inspector_id": "mine"
        if request.GET.get("inspector") == "mine"
        else _int_or_none(request.GET.get("inspector")),
        "states": FollowUp.State.choices,
    }
    # "Mine": the cases of the inspector and of those they stand in for today (代理).
    inspector_ids = None
    if context["inspector_id"] == "mine":
        inspector_ids = {request.user.pk, *task_access.acting_for(request.user, Role.INSPECTOR)}
    elif context["inspector_id"]:
        inspector_ids = {context["inspector_id"]}
    context["queue"] = queries.follow_up_queue(
        user=request.user,
        today=clock.today(),
        colour=context["colour"],
        department_id=context["department_id"],
        state=context["state"],
        inspector_ids=inspector_ids,
        page=_int_or_none(request.GET.get("page")) or 1,
    )
    if request.htmx:
        return render(request, "reviews/followups.html#queue", context)
    # The filters' options show names only.
    departments = Department.objects.only("pk", "name").order_by("code")
    context["departments"] = task_access.within_scope(departments, request.user, "pk")
    inspectors = task_queries.colleagues(Role.INSPECTOR, request.user).only("pk", *queries.PERSON_NAME)
    context["inspectors"] = inspectors.order_by("username")
    return render(request, "reviews/followups.html", context)


def _step_form(step, case, data=None, files=None, item_id=None):
    """The form of a step of the case: its version, a letter's text to read and edit, and for
    a step on one rectification, which one."""
    initial, options = {"version": case.version}, {}
    if step.letter_kind:
        initial["text"] = default_text(step.letter_kind, case)
    if step.name == "close":
        options["rectified"] = cases.is_rectified(case)
    auto_id = f"{step.name}-%s" if item_id is None else f"{step.name}-{item_id}-%s"
    if item_id is not None:
        initial["rectification"] = item_id
    return CASE_STEP_FORMS[step.name](data, files, initial=initial, auto_id=auto_id, **options)


@login_required
def case_detail(request, case_id):
    """A case with the steps this user may take now, each with its form; the rectifications
    awaiting review each carry the inspector's accept/return form."""
    case = access.get_case_for_user(request.user, case_id)
    accountability, register = queries.case_accountability(
        case, request.user, with_register=access.may_read_register(request.user)
    )
    case._register_entry = accountability  # the accountability steps read it too
    steps = cases.available_steps(case, request.user)
    forms = {step.name: _step_form(step, case) for step in steps if not step.per_item}
    reviews = {}
    if any(step.name == "review" for step in steps):
        reviews = {
            item.pk: _step_form(cases.STEPS_BY_NAME["review"], case, item_id=item.pk)
            for item in case.rectifications.all()
            if item.state == Rectification.State.SUBMITTED
        }
    comment_form = None
    if request.method == "POST" and request.POST.get("action") == "comment":
        comment_form, done = discussion.take_comment(request, case.rating.task, thread=access.case_thread(case))
        if done:
            return done
    elif request.method == "POST":
        step = cases.STEPS_BY_NAME.get(request.POST.get("action"))
        if step is None:
            raise Http404
        if step.per_item:
            item_id = _int_or_none(request.POST.get("rectification"))
            form = reviews[item_id] = _step_form(step, case, request.POST, item_id=item_id)
        else:
            form = forms[step.name] = _step_form(step, case, request.POST, request.FILES)
        if form.is_valid():
            try:
                taken = step.service(case_id=case.pk, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                # At the top of the page: after someone else's step, this one's form may be gone.
                show_service_error(error, form=form, request=request)
            else:
                messages.success(request, step.confirmation(taken))
                return redirect("reviews:case", case_id=case.pk)
    thread = access.case_thread(case)
    comments, instructions = task_queries.thread_with_instructions(case.rating.task, thread)
    return render(
        request,
        "reviews/case.html",
        {
            "case": case,
            "steps": [(step, forms[step.name], step.is_primary(case)) for step in steps if not step.per_item],
            "reviews": reviews,
            "may_work_cases": access.may_work_case(request.user, case),
            "instructions": instructions,
            "accountability": accountability,
            "register": register,
            "reds": queries.reds_across_years(case, request.user) if access.may_read_register(request.user) else None,
            **discussion.discussion(request, case.rating.task, thread, form=comment_form, comments=comments),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def accountability_register(request):
    """The accountability register (问责台账): every case escalated, across the years."""
    if not access.may_read_register(request.user):
        raise PermissionDenied
    person_id = _int_or_none(request.GET.get("person"))
    context = queries.accountability_register(request.user, person_id)
    # Named only when they are on the register the user reads.
    context["person"] = next((entry.person for entry in context["entries"]), None) if person_id else None
    context["states"] = Accountability.State.choices
    return render(request, "reviews/accountability.html", context)


@login_required
def rectification_file(request, file_id):
    """An evidence file of a rectification, for those who may see its case."""
    evidence = get_object_or_404(RectificationFile.objects.select_related("rectification"), pk=file_id)
    access.get_case_for_user(request.user, evidence.rectification.case_id)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=evidence.original_name)


@login_required
def letter_detail(request, letter_id):
    """A printable letter, with whom it reached for those who may see its case."""
    letter = access.get_letter_for_user(request.user, letter_id)
    context = {
        "letter": letter,
        "case": letter.case,
        "text": letter_text(letter),
        "may_acknowledge": access.awaits_acknowledgement(letter) and access.may_acknowledge(request.user, letter),
    }
    if letter.case is None:
        context["commended"] = queries.latest_commendation_for(letter)
    elif access.may_work_case(request.user, letter.case):
        context["recipients"] = queries.letter_recipients(letter)
    return render(request, "reviews/letter.html", context)


@require_POST
@login_required
def acknowledge_letter(request, letter_id):
    """签收: the owner (or a colleague for the owner) confirms receipt; the reply clock starts."""
    letter = access.get_letter_for_user(request.user, letter_id)
    try:
        letter = cases.acknowledge_letter(letter_id=letter.pk, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Acknowledged: %(number)s") % {"number": letter.number})
    return redirect("reviews:letter", letter_id=letter.pk)


def _letter_file(request, letter_id, render, suffix, content_type):
    """The letter as a document file, for those who may read it."""
    letter = access.get_letter_for_user(request.user, letter_id)
    commended = queries.latest_commendation_for(letter)["ratings"] if letter.case is None else ()
    filename = f"{letter.get_kind_display()}-{letter.number}.{suffix}"
    content = io.BytesIO(render(letter, commended))
    return FileResponse(content, as_attachment=True, filename=filename, content_type=content_type)


@login_required
def letter_docx(request, letter_id):
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return _letter_file(request, letter_id, documents.letter_docx, "docx", docx_type)


@login_required
def letter_pdf(request, letter_id):
    return _letter_file(request, letter_id, documents.letter_pdf, "pdf", "application/pdf")
