"""The rows of the reviews app's lists (the confirmation queue, the follow-up queue, the
minutes' tables), rendered by Jinja2 as the review board's are (see board.py): the page stays a
Django template, and this tag renders its rows' fragment, escaping every value. What repeats
from row to row (labels, light cells, the pattern of each link) is worked out once per page."""

from django import template
from django.template import engines
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import linebreaksbr, truncatechars
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from markupsafe import Markup

from lightboard.jinja2 import Once, url_maker
from lightboard.lights import label_of
from lightboard.templatetags.lights import colon

from ..models import FollowUp

register = template.Library()


def _render(name, context):
    return mark_safe(engines["jinja2"].env.get_template(name).render(context))


def _short_date(value):
    """{{ value|date:"SHORT_DATE_FORMAT" }}: in the current time zone, as Django's filter is."""
    return date_filter(template_localtime(value), "SHORT_DATE_FORMAT")


def _light_cells():
    """partials/light.html for each light key, rendered once per page."""
    return Once(lambda light: Markup('<span class="light {0}" title="{1}">{1}</span>\n').format(light, label_of(light)))


def _blocktranslated(msgid):
    """A {% blocktranslate %}'s text: the translation as it is, its values escaped (Markup %)."""
    return Markup(_(msgid))


@register.simple_tag(takes_context=True)
def confirmation_rows(context, queue):
    """The confirmation queue's groups of rows (templates/reviews/confirmation_rows.jinja)."""
    return _render(
        "reviews/confirmation_rows.jinja",
        {
            "stages": queue.stages,
            "user_id": context["request"].user.pk,
            "lights": _light_cells(),
            "task_url": url_maker("tasks:detail"),
            "evidence_url": url_maker("tasks:evidence"),
            "confirmation_url": url_maker("reviews:confirmation"),
            "short_date": _short_date,
            "truncatechars": truncatechars,
            "waiting": _blocktranslated("%(count)s waiting"),
            "for_who": _blocktranslated("for %(who)s"),
            "confirm_label": _("Confirm"),
            "task_label": _("Task"),
            "target_label": _("Stage target"),
            "self_score_label": _("Self score"),
            "done_label": _("What was done"),
            "submitted_label": _("Submitted"),
            "late_label": _("late"),
            "adjust_label": _("Adjust or return"),
            "nothing_label": _("Nothing waits for your confirmation."),
        },
    )


@register.simple_tag
def minutes_rows(minutes, table):
    """The rows of one of the minutes' tables ("follow_up", "commended", "instructions" or
    "changes"; templates/reviews/minutes_rows.jinja)."""
    return _render(
        "reviews/minutes_rows.jinja",
        {
            "table": table,
            "rows": getattr(minutes, table),
            "lights": _light_cells(),
            "short_date": _short_date,
            "linebreaksbr": linebreaksbr,
            "department_label": _("Department"),
            "task_label": _("Task"),
            "owner_label": _("Owner"),
            "final_score_label": _("Final score"),
            "light_label": _("Light"),
            "decision_label": _("Handling decision"),
            "next_target_label": _("Next stage's key work"),
            "instruction_label": _("Instruction"),
            "given_by_label": _("Given by"),
            "date_label": _("Date"),
            "change_label": _("What to change"),
            "before_label": _("Before"),
            "after_label": _("After"),
            "reason_label": _("Reason"),
            "decided_by_label": _("Decided by"),
            "none_label": _("None."),
            "none_since_label": _("None since the previous meeting."),
        },
    )


@register.simple_tag
def followup_rows(queue):
    """The follow-up queue's rows (templates/reviews/followup_rows.jinja)."""
    kinds = dict(FollowUp.Kind.choices)
    states = dict(FollowUp.State.choices)
    return _render(
        "reviews/followup_rows.jinja",
        {
            "cases": queue.cases,
            "lights": _light_cells(),
            "case_url": url_maker("reviews:case"),
            "short_date": _short_date,
            "kinds": {key: str(label) for key, label in kinds.items()},
            "states": {key: str(label) for key, label in states.items()},
            "colon": colon(),
            "unacknowledged": lambda days: (
                Markup(ngettext("not acknowledged for %(days)s day", "not acknowledged for %(days)s days", days))
                % {"days": days}
            ),
            "to_review": lambda count: (
                Markup(ngettext("%(count)s to review", "%(count)s to review", count)) % {"count": count}
            ),
            "task_reds": _blocktranslated("task red %(count)s times"),
            "owner_reds": _blocktranslated("owner red %(count)s times"),
            "task_label": _("Task"),
            "light_label": _("Light"),
            "kind_label": _("Kind"),
            "state_label": _("State"),
            "due_label": _("Due date"),
            "inspector_label": _("Inspector"),
            "serious_label": _("Serious"),
            "overdue_label": _("overdue"),
            "none_label": _("No cases."),
        },
    )
