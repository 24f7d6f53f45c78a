from django import template
from django.template import engines
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from lightboard.jinja2 import Once, url_maker
from lightboard.lights import LABELS

from ..queries import BOARD_KEYS

register = template.Library()


@register.simple_tag
def board_rows(board, summary=False):
    """The review board's rows. A group's board has thousands of cells, which Jinja2 renders
    several times faster than Django's engine; Jinja2 escapes every value, so its HTML is
    inserted as it is. In summary, each department shows its counts and a link that loads its
    rows (htmx; without JavaScript, the board filtered to that department)."""
    meeting = board.meeting
    jinja = engines["jinja2"]
    labels = {key: str(label) for key, label in LABELS.items()}
    # Rendered (and escaped) by their macros once per distinct value, not once per row.
    stage_names = Once(lambda number: _("Stage %(n)s") % {"n": number})
    cells = jinja.env.get_template("reviews/board_cells.jinja").make_module(
        {"labels": labels, "stage_names": stage_names}
    )
    rows = jinja.env.get_template("reviews/board_rows.jinja")
    pieces = rows.generate(
        {
            "board": board,
            "labels": labels,
            "light_cells": Once(cells.light_cell),
            "history_cells": Once(cells.history_cell),
            "colour_keys": BOARD_KEYS,
            "columns": 8,
            "task_urls": Once(url_maker("tasks:detail")),
            "present_url": reverse("reviews:present", args=[meeting.pk]),
            "amend_urls": Once(url_maker("reviews:amend")),
            "can_rate": meeting.accepts_ratings,
            "can_amend": meeting.is_closed,
            "rate_label": _("Rate"),
            "amend_label": _("Amend"),
            "empty_label": _("No tasks match."),
            "summary": summary,
            "board_url": reverse("reviews:board", args=[meeting.pk]),
            "show_label": _("Show this department's tasks"),
        }
    )
    # Each escaped piece is a Markup, an object the garbage collector tracks: joined at the end,
    # the 50,000 pieces of a 4,000-task board stay alive together and set off collections of the
    # whole process's heap (they doubled the render time). Read as plain strings one by one,
    # each is freed as soon as it is copied. Escaping is Jinja2's, unchanged.
    return mark_safe("".join(map(str, pieces)))
