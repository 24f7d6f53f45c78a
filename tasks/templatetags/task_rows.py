"""Rows of the task pages rendered by Jinja2 (as the review board's are: reviews/templatetags/
board.py): Django's engine spends most of these pages' time on a handful of tags repeated in
every row. Jinja2 escapes every value, so its HTML is inserted as it is."""

from django import template
from django.template import engines
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from lightboard.jinja2 import Once, url_maker
from lightboard.lights import LABELS, MISSING

from ..models import SelfAssessment

register = template.Library()


def _short_date(value):
    return date_format(value, "SHORT_DATE_FORMAT")


def _render(name, context):
    return mark_safe(engines["jinja2"].env.get_template(name).render(context))


def light_labels():
    return {key: str(label) for key, label in LABELS.items()}


def state_labels(model):
    return {value: str(label) for value, label in model.State.choices}


def colon():
    """As the `colon` tag: full-width in Chinese text (状态：), ": " in English."""
    return "：" if (get_language() or "").startswith("zh") else ": "


@register.simple_tag
def my_task_rows(rows, stage):
    """The rows of the "my tasks" table (tasks/my_task_rows.jinja)."""
    return _render(
        "tasks/my_task_rows.jinja",
        {
            "rows": rows,
            "labels": {
                "task": _("Task"),
                "owner": _("Owner"),
                "target": _("Stage target"),
                "self_assessment": _("Self-assessment"),
                "earlier": _("Earlier stages"),
                "deadline": _("deadline"),
                "late": _("late"),
                "not_started": _("Not started"),
                "self_assess": _("Self-assess"),
                "view": _("View"),
                "empty": _("Your departments have no key tasks this year."),
            },
            "light_labels": light_labels(),
            "state_labels": state_labels(SelfAssessment),
            "stage_names": Once(lambda number: _("Stage %(n)s") % {"n": number}),
            "detail_urls": Once(url_maker("tasks:detail")),
            "assess_urls": Once(url_maker("tasks:assess", stage.number)),
            "short_date": _short_date,
            "colon": colon(),
        },
    )


def _detail_module(task):
    """task_detail_rows.jinja's macros, with what they share: labels translated once, URLs."""
    context = {
        "labels": {
            "stage": _("Stage"),
            "target": _("Stage target"),
            "self_score": _("Self score"),
            "confirmed": _("Confirmed score"),
            "final": _("Final score"),
            "light": _("Light"),
            "late": _("late"),
            "self_assess": _("Self-assess"),
            "view": _("View"),
            "year": _("Year"),
            "task": _("Task"),
            "when": _("When"),
            "who": _("Who"),
            "what": _("What"),
            "changes": _("Changes"),
            "reason": _("Reason"),
            "no_history": _("No recorded changes."),
        },
        "light_labels": Once(lambda key: str(LABELS.get(key, LABELS[MISSING]))),
        "state_labels": state_labels(SelfAssessment),
        "stage_names": Once(lambda number: _("Stage %(number)s") % {"number": number}),
        "task_id": task.pk,
        "detail_urls": Once(url_maker("tasks:detail")),
        "evidence_urls": Once(url_maker("tasks:evidence")),
        "assess_urls": Once(lambda number: reverse("tasks:assess", args=[task.pk, number])),
        "month_day": lambda value: date_format(value, "n/j"),
        "date_time": lambda value: date_format(template_localtime(value), "SHORT_DATETIME_FORMAT"),
        "for_whom": lambda who: _("for %(who)s") % {"who": who},
    }
    return engines["jinja2"].env.get_template("tasks/task_detail_rows.jinja").make_module(context)


@register.simple_tag(takes_context=True)
def task_rows(context, table, rows, task):
    """The rows of one of a task's tables: "stages", "years" (across the years) or "history"."""
    module = context.render_context.get("task_detail_rows")
    if module is None:
        module = context.render_context["task_detail_rows"] = _detail_module(task)
    macro = {"stages": module.stage_rows, "years": module.year_rows, "history": module.history_rows}[table]
    return mark_safe(str(macro(rows)))
