from django import template
from django.template import engines
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from lightboard.jinja2 import url_maker
from lightboard.lights import LABELS

from ..queries import BOARD_KEYS

register = template.Library()


@register.simple_tag(takes_context=True)
def board_rows(context, board):
    """The review board's rows. A group's board has thousands of cells, which Jinja2 renders
    several times faster than Django's engine; Jinja2 escapes every value, so its HTML is
    inserted as it is."""
    meeting = board.meeting
    rows = engines["jinja2"].get_template("reviews/board_rows.jinja")
    return mark_safe(
        rows.render(
            {
                "board": board,
                "labels": {key: str(label) for key, label in LABELS.items()},
                "colour_keys": BOARD_KEYS,
                "columns": 8,
                "task_url": url_maker("tasks:detail"),
                "present_url": reverse("reviews:present", args=[meeting.pk]),
                "amend_url": url_maker("reviews:amend"),
                "can_rate": meeting.accepts_ratings,
                "can_amend": meeting.is_closed,
                "rate_label": _("Rate"),
                "amend_label": _("Amend"),
                "empty_label": _("No tasks match."),
            },
            request=context.get("request"),
        )
    )
