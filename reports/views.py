import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from lightboard import clock
from lightboard.forms import show_service_error
from lightboard.lights import COLOUR_KEYS, LABELS
from lightboard.roles import READ_ALL_ROLES, Role, role_required
from reviews import access as review_access
from reviews.models import ReviewMeeting
from tasks import access as task_access
from tasks import queries as task_queries
from tasks.access import get_task_for_user
from tasks.models import Department
from tasks.queries import current_year

from . import access, charts, excel, queries, services
from .models import HonourRoll


def _year_or_404():
    year = current_year(clock.today())
    if year is None:
        raise Http404
    return year


def _legend():
    return {key: str(label) for key, label in LABELS.items()}


def _unit_in_reach(request, tree):
    """The unit a report is read at: the one named by ?unit= (its code), else the user's own
    (None: the group). 404 for a unit the user's roles do not reach."""
    code = request.GET.get("unit", "")
    if not code:
        return tree.units.get(request.user.unit_id)
    unit = next((u for u in tree.units.values() if u.code == code), None)
    if unit is None or not task_access.in_scope(request.user, unit.pk):
        raise Http404
    return unit


def _path(request, tree, unit):
    """The crumbs from the top the user reaches down to the unit."""
    if unit is None:
        return []
    return [step for step in tree.path(unit.pk) if task_access.in_scope(request.user, step.pk)]


@role_required(*READ_ALL_ROLES)
def overview(request):
    year = _year_or_404()
    tree = task_queries.org_tree()
    unit = _unit_in_reach(request, tree)
    data = queries.year_overview(year, unit_id=unit.pk if unit else None, tree=tree)
    data.unit, data.path = unit, _path(request, tree, unit)
    cycles = queries.cycles_under(tree, unit.pk if unit else None)
    data.at_top = request.user.unit_id is None
    legend = _legend()
    for row in data.rows:
        for cell in row.cells:
            cell.bar = charts.share_bar(cell.shares, legend)
    stage_labels = [_("Stage %(n)s") % {"n": n} for n in data.stage_numbers]
    shares = {
        colour: [queries.Cell(data.per_stage[n], n).share(colour) for n in data.stage_numbers] for colour in COLOUR_KEYS
    }
    trend = charts.colour_trend(stage_labels, shares, legend, _("Share of each light per stage"))
    return render(
        request,
        "reports/overview.html",
        {
            "overview": data,
            "trend": trend,
            "colours": COLOUR_KEYS,
            "meetings": [
                m
                for m in queries.closed_meetings(year)
                if m.unit_id in cycles and review_access.may_read_meeting(request.user, m)
            ],
        },
    )


@role_required(*READ_ALL_ROLES)
def overview_xlsx(request):
    year = _year_or_404()
    tree = task_queries.org_tree()
    unit = _unit_in_reach(request, tree)
    content = excel.overview_workbook(queries.year_overview(year, unit_id=unit.pk if unit else None, tree=tree))
    name = f"{year.year}-{unit.code}-亮灯总览.xlsx" if unit else f"{year.year}-亮灯总览.xlsx"
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=name)


def _department(request, code):
    """A unit the user's roles reach, else 404."""
    department = get_object_or_404(Department.objects.select_related("division_leader"), code=code)
    if not task_access.in_scope(request.user, department.pk):
        raise Http404
    return department


@role_required(*READ_ALL_ROLES)
def scorecard(request, code):
    year = _year_or_404()
    data = queries.department_scorecard(year, _department(request, code))
    data.path = [step for step in data.path if task_access.in_scope(request.user, step.pk)]
    return render(
        request,
        "reports/scorecard.html",
        {
            "scorecard": data,
            "transition_labels": queries.TRANSITION_LABELS,
            "highlight": request.GET.get("stage", ""),
            "columns": list(zip(data.stage_numbers, data.averages, data.counts, strict=True)),
        },
    )


@role_required(*READ_ALL_ROLES)
def scorecard_xlsx(request, code):
    year = _year_or_404()
    department = _department(request, code)
    content = excel.scorecard_workbook(queries.department_scorecard(year, department))
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=f"{year.year}-{department.code}-记分卡.xlsx")


@role_required(*READ_ALL_ROLES)
def years(request):
    """This year compared with the earlier ones, per department and for the group."""
    data = queries.years_compared(task_access.scope_of(request.user))
    data["whole"] = request.user.unit  # the totals are of the user's unit, not the group, when it is set
    legend = _legend()
    for cells in [data["group"], *(cells for _department, cells in data["rows"])]:
        for cell in cells:
            cell.stages = [(stage, charts.share_bar(stage.shares, legend)) for stage in cell.stage_cells()]
    return render(request, "reports/years.html", data)


def _closed_stage(request, year, cycles):
    """The stages with a closed meeting in `cycles`, and the one chosen by ?stage=N, else the
    latest (or None)."""
    closed = queries.closed_stages(year, cycles)
    chosen = request.GET.get("stage", "")
    by_number = {stage.number: stage for stage in closed}
    if chosen.isdigit() and int(chosen) in by_number:
        return closed, by_number[int(chosen)]
    return closed, closed[-1] if closed else None


def _cycle_meeting(request, stage, cycle):
    """The closed meeting of the stage in the cycle of the unit shown, whose 红黑榜 goes with
    the ranking; None if it has none or it is not for this user."""
    if stage is None:
        return None
    meeting = (
        ReviewMeeting.objects.filter(stage=stage, unit_id=cycle, state=ReviewMeeting.State.CLOSED)
        .select_related("stage__year", "unit")
        .first()
    )
    return meeting if meeting is not None and review_access.may_read_cycle_notice(request.user, meeting) else None


@role_required(*READ_ALL_ROLES)
def ranking(request):
    """The departments ranked at a closed meeting, by weighted score or by lights; the
    leadership group prepares the 红黑榜 from here."""
    year = _year_or_404()
    by = "lights" if request.GET.get("by") == "lights" else "score"
    tree = task_queries.org_tree()
    unit = _unit_in_reach(request, tree)
    unit_id = unit.pk if unit else None
    closed, stage = _closed_stage(request, year, queries.cycles_under(tree, unit_id))
    meeting = _cycle_meeting(request, stage, tree.cycle_of(unit_id) if unit else None)
    return render(
        request,
        "reports/ranking.html",
        {
            "year": year,
            "closed": closed,
            "stage": stage,
            "meeting": meeting,
            "by": by,
            "unit": unit,
            "at_top": request.user.unit_id is None,
            "path": _path(request, tree, unit),
            "units": queries.ranking(stage, by=by, unit_id=unit.pk if unit else None, tree=tree) if stage else [],
            "roll": HonourRoll.objects.filter(meeting=meeting).first() if meeting else None,
            "may_publish": meeting is not None and access.may_publish_honour_roll(request.user, meeting),
        },
    )


@role_required(Role.LEADERSHIP)
def honour_roll_new(request, meeting_id):
    """The 红黑榜 as it would be published; POST approves and publishes it to everyone."""
    meeting = review_access.get_meeting_for_user(request.user, meeting_id)
    if not meeting.is_closed or not access.may_publish_honour_roll(request.user, meeting):
        raise Http404
    if request.method == "POST":
        try:
            roll = services.publish_honour_roll(meeting_id=meeting.pk, by=request.user)
        except ValidationError as error:
            show_service_error(error, request=request)
            return redirect(f"{reverse('reports:ranking')}?stage={meeting.stage.number}")
        messages.success(request, _("The honour roll is published to everyone's inbox."))
        return redirect("reports:honour_roll", roll_id=roll.pk)
    entries = queries.honour_entries(meeting)
    return render(
        request,
        "reports/honour_roll.html",
        {"meeting": meeting, "commended": entries["green"], "named": entries["red"], "draft": True},
    )


@login_required
def honour_roll(request, roll_id):
    """A published 红黑榜, for those it went to (everyone, for the group's meeting)."""
    roll = get_object_or_404(
        HonourRoll.objects.select_related("meeting__stage__year", "meeting__unit", "published_by"), pk=roll_id
    )
    if not review_access.may_read_cycle_notice(request.user, roll.meeting):
        raise Http404
    return render(
        request,
        "reports/honour_roll.html",
        {"roll": roll, "meeting": roll.meeting, "commended": roll.commended, "named": roll.named},
    )


@role_required(*READ_ALL_ROLES)
def warning(request):
    year = _year_or_404()
    tree = task_queries.org_tree()
    unit = _unit_in_reach(request, tree)
    departments = tree.below(unit.pk) if unit else None
    cycles = queries.cycles_under(tree, unit.pk if unit else None)
    stage, warnings = queries.early_warning(year, clock.today(), departments=departments, cycles=cycles)
    return render(
        request,
        "reports/warning.html",
        {
            "year": year,
            "unit": unit,
            "path": _path(request, tree, unit),
            "at_top": request.user.unit_id is None,
            "units": [u for u in tree.units.values() if task_access.in_scope(request.user, u.pk)],
            "stage": stage,
            "warnings": warnings,
            "labels": queries.WARNING_LABELS,
            "sources": queries.SOURCE_LABELS,
        },
    )


@role_required(*READ_ALL_ROLES)
def task_chart(request, task_id):
    task = get_task_for_user(request.user, task_id)
    chart = charts.task_scores(
        queries.task_scores(task),
        green_above=task.year.green_above,
        red_below=task.year.red_below,
        title=_("Final score per stage: %(task)s") % {"task": task.title},
        score_label=_("Final score"),
        target_label=_("Stage target"),
        threshold_labels=(_("Green above"), _("Red below")),
        legend=_legend(),
    )
    return render(request, "reports/task_chart.html", {"task": task, "chart": chart})
