import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from lightboard import clock
from lightboard.forms import show_service_error
from lightboard.lights import light_of
from lightboard.roles import READ_ALL_ROLES, Role, can_read_all, has_role, role_required

from . import access, audit, discussion, excel, imports, queries, services
from .forms import (
    ChangeDecisionForm,
    ChangeRequestForm,
    CommentEditForm,
    DeputyForm,
    ReturnForm,
    SelfAssessmentForm,
    TaskForm,
)
from .models import (
    STAGES_PER_YEAR,
    AssessmentYear,
    ChangeRequest,
    Comment,
    Deputy,
    Evidence,
    ImportJob,
    LibraryTask,
    TaskList,
)

XLSX = excel.XLSX_CONTENT_TYPE


@role_required(Role.STAFF)
def my_tasks(request):
    today = clock.today()
    year, stage = queries.current_year_and_stage(today)
    if stage is not None:
        work = queries.my_work(request.user, stage, today)
        rows, returned = work.rows, work.returned
    else:
        rows, returned = [], queries.returned_assessments(request.user, year) if year else []
    days_left = (stage.self_assessment_due - today).days if stage else None
    return render(
        request,
        "tasks/my_tasks.html",
        {
            "year": year,
            "stage": stage,
            "rows": rows,
            "returned": returned,
            "days_left": days_left,
            "days_overdue": -days_left if days_left is not None else None,
            "has_departments": bool(access.department_ids_of(request.user)),
        },
    )


@login_required
def task_detail(request, task_id):
    """A task with its stages, the leadership's instructions, its discussion and its history;
    POST adds a comment to the discussion."""
    task = access.get_task_for_user(request.user, task_id)
    form = None
    if request.method == "POST":
        form, done = discussion.take_comment(request, task)
        if done:
            return done
    facts = queries.task_facts(task)
    approved = facts.task_list is not None and facts.task_list.state == TaskList.State.APPROVED
    talk = discussion.discussion(request, task, form=form)
    return render(
        request,
        "tasks/task_detail.html",
        {
            "task": task,
            "task_list": facts.task_list,
            "cooperating": facts.cooperating,
            "stages": _with_may_assess(request.user, task, queries.task_stage_details(task)),
            "history": audit.task_history(task),
            "can_work_on": access.can_work_on(request.user, task.department),
            "instructions": queries.instructions_among(talk["comments"]),
            "across_years": queries.task_across_years(task, facts.carried_into_id),
            "change_requests": queries.task_change_requests(task),
            "may_request_change": approved and access.may_request_change(request.user, task),
            **talk,
        },
        status=400 if request.method == "POST" else 200,
    )


def _comment_for_user(user, comment_id):
    """A comment of a discussion the user may read, else 404."""
    comment = get_object_or_404(Comment.objects.select_related("task", "author"), pk=comment_id)
    if not access.may_see_thread(user, comment.task, comment.thread):
        raise Http404
    return comment


@login_required
def comment_edit(request, comment_id):
    """The author edits a comment; the earlier text stays in its history."""
    comment = _comment_for_user(request.user, comment_id)
    if not access.may_edit_comment(request.user, comment):
        raise PermissionDenied
    form = CommentEditForm(request.POST or None, initial={"text": comment.text})
    if request.method == "POST" and form.is_valid():
        try:
            comment = services.edit_comment(comment_id=comment.pk, by=request.user, text=form.cleaned_data["text"])
        except ValidationError as error:
            show_service_error(error, form=form)
        else:
            messages.success(request, _("Comment changed; the earlier text is in its history."))
            discussion.tell_outcome_of_mentions(request, comment)
            return redirect(f"{access.thread_url(comment.task, comment.thread)}#comment-{comment.pk}")
    return render(
        request,
        "tasks/comment_edit.html",
        {"comment": comment, "form": form, "back": access.thread_url(comment.task, comment.thread)},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@login_required
def comment_instruct(request, comment_id):
    """A member of the leadership group marks a comment as an instruction (批示)."""
    comment = _comment_for_user(request.user, comment_id)
    try:
        services.mark_instruction(comment_id=comment.pk, by=request.user)
    except ValidationError as error:
        show_service_error(error, request=request)
    else:
        messages.success(request, _("Instruction recorded; the owner and the department are told."))
    return redirect(f"{access.thread_url(comment.task, comment.thread)}#comment-{comment.pk}")


@login_required
def change_request(request, task_id):
    """The owner or the department's staff ask the leadership group to change an approved task."""
    task = access.get_task_for_user(request.user, task_id)
    if not access.may_request_change(request.user, task):
        raise PermissionDenied
    form = ChangeRequestForm(request.POST or None, task=task)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_change(task=task, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            show_service_error(error, form=form)
        else:
            messages.success(request, _("Change request sent to the leadership group."))
            return redirect("tasks:detail", task_id=task.pk)
    return render(
        request,
        "tasks/change_request.html",
        {"task": task, "form": form, "targets": {t.stage_id: t.description for t in task.targets.all()}},
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.LEADERSHIP)
def changes(request):
    """The change requests awaiting the leadership group, each with its approve/reject form;
    the latest decisions below."""
    pending = queries.pending_change_requests(request.user)
    forms = {
        item.pk: ChangeDecisionForm(initial={"request": item.pk}, auto_id=f"change-{item.pk}-%s") for item in pending
    }
    if request.method == "POST":
        item_id = request.POST.get("request", "")
        if not item_id.isdigit():
            raise Http404
        form = forms[int(item_id)] = ChangeDecisionForm(request.POST, auto_id=f"change-{item_id}-%s")
        if form.is_valid():
            try:
                decided = services.decide_change(
                    request_id=form.cleaned_data["request"],
                    by=request.user,
                    approve=form.cleaned_data["decision"] == "approve",
                    comment=form.cleaned_data["comment"],
                )
            except ChangeRequest.DoesNotExist:
                raise Http404 from None
            except ValidationError as error:
                show_service_error(error, form=form, request=request)
            else:
                messages.success(
                    request,
                    (_("Approved: %(task)s") if decided.state == "approved" else _("Rejected: %(task)s"))
                    % {"task": decided.task.title},
                )
                return redirect("tasks:changes")
    return render(
        request,
        "tasks/changes.html",
        {
            "pending": [(item, forms.get(item.pk)) for item in pending],
            "decided": queries.recent_change_decisions(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def deputies(request):
    """A division leader or an inspector names a deputy for a date range (代理), or takes one back."""
    if not access.may_name_deputies(request.user):
        raise PermissionDenied
    roles = [role for role in Deputy.ROLES if has_role(request.user, role)]
    form = DeputyForm(request.POST or None, user=request.user, roles=roles)
    if request.method == "POST" and form.is_valid():
        try:
            services.name_deputy(principal=request.user, **form.cleaned_data)
        except ValidationError as error:
            show_service_error(error, form=form)
        else:
            messages.success(request, _("Deputy named; they are told."))
            return redirect("tasks:deputies")
    return render(
        request,
        "tasks/deputies.html",
        {
            "form": form,
            "named": Deputy.objects.filter(principal=request.user).select_related("deputy"),
            "standing_in": Deputy.objects.filter(deputy=request.user).select_related("principal"),
            "today": clock.today(),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@login_required
def deputy_withdraw(request, deputy_id):
    services.withdraw_deputy(deputy_id=deputy_id, by=request.user)
    messages.success(request, _("Deputy taken back."))
    return redirect("tasks:deputies")


def _with_may_assess(user, task, rows):
    today = clock.today()
    for row in rows:
        row.may_assess = access.may_self_assess(user, task, row.stage, row.assessment, today)
    return rows


@login_required
def assess(request, task_id, number):
    task = access.get_task_for_user(request.user, task_id)
    stage = queries.stage_with_target(task, number)
    if stage is None:
        raise Http404
    assessment = stage.assessment
    may_edit = access.can_work_on(request.user, task.department)
    editable = access.may_self_assess(request.user, task, stage, assessment, clock.today())
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied
        submit = request.POST.get("action") == "submit"
        form = SelfAssessmentForm(request.POST, request.FILES, submit=submit)
        if form.is_valid():
            try:
                services.save_self_assessment(
                    task=task,
                    stage=stage,
                    by=request.user,
                    version=form.cleaned_data["version"],
                    completion=form.cleaned_data["completion"],
                    account=form.cleaned_data["account"],
                    evidence_files=form.cleaned_data["evidence"],
                    submit=submit,
                )
            except ValidationError as error:
                show_service_error(error, form=form)
            else:
                if submit:
                    messages.success(request, _("Self-assessment submitted: %(task)s") % {"task": task})
                    return redirect("tasks:mine")
                messages.success(request, _("Draft saved."))
                return redirect("tasks:assess", task_id=task.pk, number=stage.number)
    else:
        form = SelfAssessmentForm(
            initial={
                "completion": assessment.completion if assessment else None,
                "account": assessment.account if assessment else "",
                "version": assessment.version if assessment else 0,
            }
        )
    return render(
        request,
        "tasks/assess.html",
        {
            "task": task,
            "stage": stage,
            "assessment": assessment,
            "form": form,
            "editable": editable,
            "target": stage.target,
            "evidence": assessment.evidence.all() if assessment else [],
            **_preview(form["completion"].value(), task.year),
        },
        status=400 if request.method == "POST" else 200,
    )


def _preview(raw, year):
    """The light a typed completion would give, or a note when it is not a valid score."""
    field = SelfAssessmentForm.base_fields["completion"]
    raw = (raw if isinstance(raw, str) else "" if raw is None else str(raw)).strip()
    if not raw:
        return {"preview_light": None, "preview_error": ""}
    try:
        value = field.clean(raw)
    except ValidationError as error:
        return {"preview_light": None, "preview_error": error.messages[0]}
    return {"preview_light": light_of(value, year), "preview_error": ""}


@require_GET
@login_required
def light_preview(request, task_id):
    """The light a typed score would give under the task's year: the self-assessment's
    completion, or a leader's adjusted score."""
    task = access.get_task_for_user(request.user, task_id)
    typed = request.GET.get("completion", request.GET.get("score"))
    return render(request, "tasks/assess.html#light-preview", _preview(typed, task.year))


@require_POST
@login_required
def evidence_remove(request, evidence_id):
    evidence = get_object_or_404(Evidence.objects.select_related("assessment__stage"), pk=evidence_id)
    task = access.get_task_for_user(request.user, evidence.assessment.task_id)
    version = request.POST.get("version", "")
    if not version.isdigit():
        raise Http404  # the form always says which version it shows
    try:
        services.remove_evidence(evidence=evidence, by=request.user, version=int(version))
    except ValidationError as error:
        show_service_error(error, request=request)
    else:
        messages.success(request, _("Removed: %(name)s") % {"name": evidence.original_name})
    return redirect("tasks:assess", task_id=task.pk, number=evidence.assessment.stage.number)


@login_required
def evidence_download(request, evidence_id):
    evidence = get_object_or_404(Evidence.objects.select_related("assessment"), pk=evidence_id)
    access.get_task_for_user(request.user, evidence.assessment.task_id)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=evidence.original_name)


# --- task lists ----------------------------------------------------------------------


def _year(year_number):
    return get_object_or_404(AssessmentYear, year=year_number)


def _task_list(request, year_number, code):
    """The department's list for the year, if the user may read it. A department that has
    none yet reads as an empty draft; the services create the row on the first write."""
    department = access.get_department_for_user(request.user, code)
    year = _year(year_number)
    return queries.task_list_of(year, department)


@role_required(Role.STAFF, *READ_ALL_ROLES)
def list_index(request):
    """Every department's list for the current year, for those who read all lists; staff
    go straight to their own department's list."""
    year = queries.current_year(clock.today())
    if year is None:
        raise Http404
    if not can_read_all(request.user):
        departments = request.user.departments.order_by("code")
        if not departments:
            raise PermissionDenied
        return redirect("tasks:list", year=year.year, code=departments[0].code)
    return render(
        request, "tasks/list_index.html", {"year": year, "rows": queries.task_list_overview(year, request.user)}
    )


@login_required
def list_detail(request, year, code):
    # As _task_list, handing the list the year and department just read (no second read of each).
    department = access.get_department_for_user(request.user, code)
    year = _year(year)
    task_list = queries.task_list_of(year, department)
    task_list.year, task_list.department = year, department
    return render(
        request,
        "tasks/list_detail.html",
        {
            "task_list": task_list,
            "tasks": queries.task_list_rows(task_list),
            "can_work_on": access.can_work_on(request.user, task_list.department),
            "can_approve": access.leads(request.user, task_list.department),
            "return_form": ReturnForm(),
        },
    )


@require_POST
@login_required
def list_copy(request, year, code):
    """Copy the list into next year's draft (all tasks, or the unfinished ones)."""
    task_list = _task_list(request, year, code)
    try:
        created, skipped = services.copy_list_to_next_year(
            task_list=task_list, by=request.user, unfinished_only=request.POST.get("unfinished_only") == "1"
        )
    except ValidationError as error:
        show_service_error(error, request=request)
        return redirect("tasks:list", year=year, code=code)
    message = _("%(count)s tasks copied to %(year)s.") % {"count": len(created), "year": task_list.year.year + 1}
    if skipped:
        message += " " + _("%(count)s were there already.") % {"count": skipped}
    messages.success(request, message)
    return redirect("tasks:list", year=task_list.year.year + 1, code=code)


def _task_form_page(request, task_list, task=None):
    if not access.can_work_on(request.user, task_list.department):
        raise PermissionDenied
    if task is None and not task_list.department.is_active:
        message = _("%(unit)s is no longer active: it takes no new tasks.")
        messages.error(request, message % {"unit": task_list.department})
        return redirect("tasks:list", year=task_list.year.year, code=task_list.department.code)
    if request.method == "POST":
        form = TaskForm(request.POST, task_list=task_list, task=task)
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.save_task(
                    task_list=task_list,
                    by=request.user,
                    title=data["title"],
                    standard=data["standard"],
                    owner=data["owner"],
                    deadline=data["deadline"],
                    weight=data["weight"],
                    targets=form.targets(),
                    cooperating=data["cooperating"],
                    task=task,
                    reason=data["reason"],
                )
            except ValidationError as error:
                show_service_error(error, form=form)
            else:
                messages.success(request, _("Task saved: %(task)s") % {"task": saved})
                return redirect("tasks:list", year=task_list.year.year, code=task_list.department.code)
    elif task is not None:
        targets = {t.stage.number: t.description for t in task.targets.select_related("stage")}
        form = TaskForm(
            task_list=task_list,
            task=task,
            initial={
                "title": task.title,
                "standard": task.standard,
                "owner": task.owner_id,
                "deadline": task.deadline,
                "weight": task.weight,
                "cooperating": list(task.cooperating_departments.all()),
                **{f"target_{n}": d for n, d in targets.items()},
            },
        )
    else:
        # A new task may start from the task library (任务库): ?library=<id> fills the form.
        picked = _int_or_none(request.GET.get("library"))
        chosen = LibraryTask.objects.filter(pk=picked, active=True).first() if picked else None
        form = TaskForm(task_list=task_list, initial=_from_library(chosen) if chosen else None)
    return render(
        request,
        "tasks/task_form.html",
        {
            "form": form,
            "task_list": task_list,
            "task": task,
            "library": LibraryTask.objects.filter(active=True).only("pk", "title") if task is None else (),
        },
        status=400 if request.method == "POST" else 200,
    )


def _int_or_none(value):
    return int(value) if value and value.isdigit() else None


def _from_library(entry):
    targets = list(entry.targets or [])[:STAGES_PER_YEAR]
    return {
        "title": entry.title,
        "standard": entry.standard,
        "weight": entry.weight,
        **{f"target_{number}": text for number, text in enumerate(targets, start=1)},
    }


@login_required
def task_create(request, year, code):
    return _task_form_page(request, _task_list(request, year, code))


@login_required
def task_edit(request, task_id):
    task = access.get_task_for_user(request.user, task_id)
    if not access.can_work_on(request.user, task.department):
        raise PermissionDenied
    return _task_form_page(request, queries.task_list_of(task.year, task.department), task)


def _list_moved(request, task_list, move, done):
    """Move the list through its service; say what happened at the top of the list's page."""
    try:
        move()
    except ValidationError as error:
        show_service_error(error, request=request)
    else:
        messages.success(request, done)
    return redirect("tasks:list", year=task_list.year.year, code=task_list.department.code)


@require_POST
@login_required
def list_submit(request, year, code):
    task_list = _task_list(request, year, code)
    return _list_moved(
        request,
        task_list,
        lambda: services.submit_task_list(task_list=task_list, by=request.user),
        _("The list was sent to the division leader for approval."),
    )


@require_POST
@login_required
def list_approve(request, year, code):
    task_list = _task_list(request, year, code)
    return _list_moved(
        request,
        task_list,
        lambda: services.approve_task_list(task_list=task_list, by=request.user),
        _("The list is approved."),
    )


@require_POST
@login_required
def list_return(request, year, code):
    task_list = _task_list(request, year, code)
    form = ReturnForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    return _list_moved(
        request,
        task_list,
        lambda: services.return_task_list(task_list=task_list, by=request.user, comment=comment),
        _("The list was returned to the department."),
    )


# --- Excel ---------------------------------------------------------------------------


def _xlsx_response(content, filename):
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=filename, content_type=XLSX)


@login_required
def list_template(request, year, code):
    task_list = _task_list(request, year, code)
    return _xlsx_response(excel.build_template(task_list), excel.export_filename(task_list, template=True))


@login_required
def list_export(request, year, code):
    task_list = _task_list(request, year, code)
    return _xlsx_response(excel.export_task_list(task_list), excel.export_filename(task_list))


@login_required
def list_import(request, year, code):
    task_list = _task_list(request, year, code)
    if not access.can_work_on(request.user, task_list.department):
        raise PermissionDenied
    errors = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = [excel.RowError(row=None, column=None, message=_("Choose an .xlsx file to upload."))]
        else:
            try:
                result, job = imports.start_import(task_list=task_list, file=upload, by=request.user)
            except excel.ImportRejected as rejected:
                errors = rejected.errors
            else:
                if job is not None:
                    return redirect("tasks:list_import_job", year=year, code=code, job_id=job.pk)
                messages.success(
                    request,
                    _("Imported: %(created)s tasks created, %(updated)s updated.")
                    % {"created": result.created, "updated": result.updated},
                )
                return redirect("tasks:list", year=year, code=code)
    return render(
        request,
        "tasks/list_import.html",
        {
            "task_list": task_list,
            "errors": errors,
            "template_url": reverse("tasks:list_template", kwargs={"year": year, "code": code}),
        },
        status=400 if errors else 200,
    )


@login_required
def list_import_job(request, year, code, job_id):
    """An import running in the background: the page, or (htmx polling) its progress fragment."""
    task_list = _task_list(request, year, code)
    if not access.can_work_on(request.user, task_list.department):
        raise PermissionDenied
    if task_list.pk is None:  # no list yet, so no import into it either
        raise Http404
    # One a killed worker left queued or running shows as failed (the beat sweep records it).
    job = imports.as_seen(get_object_or_404(ImportJob, pk=job_id, task_list=task_list))
    context = {
        "task_list": task_list,
        "job": job,
        # Thousands grouped by three, as the page says it in Chinese too: 已处理 1,200 / 2,000 行.
        "processed": f"{job.processed:,}",
        "total": f"{job.rows:,}",
        "errors": imports.job_errors(job),
        "import_url": reverse("tasks:list_import", kwargs={"year": year, "code": code}),
    }
    template = "tasks/list_import_job.html#job-progress" if request.htmx else "tasks/list_import_job.html"
    return render(request, template, context)
