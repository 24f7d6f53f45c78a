import io

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from lightboard import clock
from lightboard.lights import COLOUR_KEYS, LABELS
from lightboard.roles import READ_ALL_ROLES, role_required
from tasks.access import get_task_for_user
from tasks.models import Department
from tasks.queries import current_year

from . import charts, excel, queries


def _year_or_404():
    year = current_year(clock.today())
    if year is None:
        raise Http404
    return year


def _legend():
    return {key: str(label) for key, label in LABELS.items()}


@role_required(*READ_ALL_ROLES)
def overview(request):
    year = _year_or_404()
    data = queries.year_overview(year)
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
        {"overview": data, "trend": trend, "colours": COLOUR_KEYS, "meetings": queries.closed_meetings(year)},
    )


@role_required(*READ_ALL_ROLES)
def overview_xlsx(request):
    year = _year_or_404()
    content = excel.overview_workbook(queries.year_overview(year))
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=f"{year.year}-亮灯总览.xlsx")


def _department(code):
    return get_object_or_404(Department.objects.select_related("division_leader"), code=code)


@role_required(*READ_ALL_ROLES)
def scorecard(request, code):
    year = _year_or_404()
    data = queries.department_scorecard(year, _department(code))
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
    department = _department(code)
    content = excel.scorecard_workbook(queries.department_scorecard(year, department))
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=f"{year.year}-{department.code}-记分卡.xlsx")


@role_required(*READ_ALL_ROLES)
def years(request):
    """This year compared with the earlier ones, per department and for the group."""
    return render(request, "reports/years.html", queries.years_compared())


@role_required(*READ_ALL_ROLES)
def warning(request):
    year = _year_or_404()
    stage, warnings = queries.early_warning(year, clock.today())
    return render(
        request,
        "reports/warning.html",
        {
            "year": year,
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
    )
    return render(request, "reports/task_chart.html", {"task": task, "chart": chart})
