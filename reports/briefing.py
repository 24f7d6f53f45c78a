"""The leadership group's weekly briefing: one plain-text message per member and ISO week, from
BRIEFING_WEEKDAY at DIGEST_HOUR (local time) on. It tells the lights by department at the latest
closed meeting, the lights that changed since the meeting before, the overdue follow-up cases
and the letters of the last seven days, and links to the year overview.

Beat calls it hourly; the idempotency key carries the person and the week, so any number of
beat processes, or a beat that was down on the morning of the weekday and runs later in the
week, write one briefing per person and week."""

import datetime
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from lightboard.lights import COLOUR_KEYS, label_of
from lightboard.roles import Role
from outbox import kinds
from outbox import queries as outbox_queries
from outbox.models import Notification
from outbox.services import Message, notify_each
from reviews.cases import OPEN_STATES
from reviews.models import FollowUp, Letter, Rating, ReviewMeeting
from tasks.models import User

from .queries import TRANSITION_LABELS, transition, year_overview

# The briefing names this many overdue cases, the most overdue first, and counts the rest.
OVERDUE_LISTED = 20
LETTERS_WITHIN = datetime.timedelta(days=7)


def briefing_key(user_id, day):
    iso_year, iso_week, _weekday = day.isocalendar()
    return f"briefing:{user_id}:{iso_year}-W{iso_week:02d}"


def is_due(now, today):
    """The week's briefing may go: its weekday has come (or passed, if beat was down) and the
    local hour is DIGEST_HOUR or later."""
    return today.isoweekday() >= settings.BRIEFING_WEEKDAY and timezone.localtime(now).hour >= settings.DIGEST_HOUR


def recipients():
    """Active members of the group's leadership group (the briefing covers the whole group, so
    not a subsidiary's own) who have not turned the briefing off. One query."""
    turned_off = outbox_queries.turned_off(kinds.Category.BRIEFING)
    return list(
        User.objects.filter(is_active=True, groups__name=Role.LEADERSHIP, unit__isnull=True)
        .exclude(pk__in=turned_off)
        .order_by("pk")
    )


@transaction.atomic
def send_weekly_briefings(now):
    """This week's briefing to every member of the leadership group who wants it and has not had
    it yet. Returns how many were written: none before the weekday and hour, none a second time
    in a week. A fixed number of queries whatever the number of tasks, cases and members."""
    today = timezone.localdate(now)
    if not is_due(now, today):
        return 0
    people = recipients()
    keys = {briefing_key(user.pk, today): user for user in people}
    sent = set(Notification.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    if not keys.keys() - sent:
        return 0  # everyone has this week's briefing: nothing to compose
    with override(settings.LANGUAGE_CODE):
        monday = today - datetime.timedelta(days=today.isoweekday() - 1)
        subject = _("Weekly briefing, week of %(day)s") % {"day": monday.isoformat()}
        body = briefing_body(now=now, today=today)
    link = reverse("reports:overview")
    return len(notify_each(Message(user, kinds.BRIEFING, subject, key, body, link) for key, user in keys.items()))


def briefing_body(*, now, today):
    """The briefing's text in the active language. Eight queries."""
    latest, previous = _last_two_closed_meetings()
    sections = [
        _lights_section(latest),
        _changes_section(latest, previous),
        _overdue_section(today),
        _letters_section(now),
    ]
    return "\n\n".join(section for section in sections if section)


def _last_two_closed_meetings():
    """The group cycle's latest two closed meetings (a subsidiary's own meetings are theirs)."""
    meetings = list(
        ReviewMeeting.objects.filter(state=ReviewMeeting.State.CLOSED, unit__isnull=True)
        .select_related("stage__year")
        .order_by("-stage__year__year", "-stage__number")[:2]
    )
    meetings += [None, None]
    return meetings[0], meetings[1]


def _counts_line(name, counts):
    return _("%(department)s: %(green_label)s %(green)d, %(yellow_label)s %(yellow)d, %(red_label)s %(red)d") % {
        "department": name,
        **{f"{colour}_label": label_of(colour) for colour in COLOUR_KEYS},
        **{colour: counts[colour] for colour in COLOUR_KEYS},
    }


def _lights_section(meeting):
    """Counts of each light per department at the meeting, as the year overview shows them."""
    if meeting is None:
        return _("No review meeting has closed yet.")
    overview = year_overview(meeting.stage.year)
    column = overview.stage_numbers.index(meeting.stage.number)
    lines = [
        _("Lights at the %(meeting)s review meeting (%(day)s):") % {"meeting": meeting, "day": meeting.date.isoformat()}
    ]
    for row in overview.rows:
        cell = row.cells[column]
        if cell.total:
            lines.append(f"  {_counts_line(row.department.name, cell.counts)}")
    total = _counts_line(_("All departments"), overview.per_stage[meeting.stage.number])
    lines.append(f"  {total}")
    return "\n".join(lines)


def _task_line(task):
    return _("%(department)s · %(title)s (owner: %(owner)s)") % {
        "department": task.department.name,
        "title": task.title,
        "owner": task.owner,
    }


def _changes_section(latest, previous):
    """The tasks whose light at the latest meeting differs from the one at the meeting before."""
    if latest is None:
        return ""
    if previous is None or previous.stage.year_id != latest.stage.year_id:
        return _("There was no earlier meeting this year to compare with.")
    ratings = (
        Rating.objects.filter(meeting__in=[previous, latest])
        .select_related("task__department", "task__owner")
        .order_by("task__department__code", "task_id")
    )
    before, after, tasks = {}, {}, {}
    for rating in ratings:
        (after if rating.meeting_id == latest.pk else before)[rating.task_id] = rating.colour
        tasks[rating.task_id] = rating.task
    lines = [_("Changes since the previous meeting (%(meeting)s):") % {"meeting": previous}]
    for task_id, task in tasks.items():
        change = transition(before.get(task_id), after.get(task_id))
        if change in ("improved", "worsened"):
            line = _("%(task)s: %(before)s → %(after)s, %(change)s") % {
                "task": _task_line(task),
                "before": label_of(before[task_id]),
                "after": label_of(after[task_id]),
                "change": TRANSITION_LABELS[change],
            }
            lines.append(f"  {line}")
    if len(lines) == 1:
        lines.append("  " + _("No task's light changed."))
    return "\n".join(lines)


def _overdue_section(today):
    """Open follow-up cases past their due date, the most overdue first."""
    overdue = FollowUp.objects.filter(state__in=OPEN_STATES, due_date__lt=today)
    count = overdue.count()
    lines = [_("Overdue follow-up cases: %(count)d") % {"count": count}]
    cases = overdue.select_related("rating__task__department", "rating__task__owner").order_by("due_date", "pk")
    for case in cases[:OVERDUE_LISTED]:
        days = (today - case.due_date).days
        late = ngettext("%(days)s day overdue", "%(days)s days overdue", days) % {"days": days}
        line = _("%(task)s: %(overdue)s") % {"task": _task_line(case.rating.task), "overdue": late}
        lines.append(f"  {line}")
    if count > OVERDUE_LISTED:
        rest = _("… and %(count)d more in the follow-up queue.") % {"count": count - OVERDUE_LISTED}
        lines.append(f"  {rest}")
    return "\n".join(lines)


def _letters_section(now):
    """Letters issued in the seven days before `now`, counted by kind."""
    counts = Counter(
        dict(
            Letter.objects.filter(issued_at__gt=now - LETTERS_WITHIN, issued_at__lte=now)
            .values_list("kind")
            .annotate(n=Count("id"))
            .order_by()
        )
    )
    lines = [_("Letters issued in the last 7 days: %(count)d") % {"count": counts.total()}]
    for kind in Letter.Kind:
        if counts[kind]:
            line = _("%(kind)s: %(count)d") % {"kind": kind.label, "count": counts[kind]}
            lines.append(f"  {line}")
    return "\n".join(lines)
