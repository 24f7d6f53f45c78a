"""Writes of the reports app: publishing the 红黑榜."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from outbox.services import notify_many
from reviews.models import ReviewMeeting
from tasks.audit import record_audit
from tasks.queries import people_of_cycle

from . import access, queries
from .models import HonourRoll


@transaction.atomic
def publish_honour_roll(*, meeting_id, by):
    """A member of the leadership group approves the 红黑榜 of a closed meeting as it stands
    now and publishes it to everyone's inbox (a subsidiary's: to its people and the group's
    readers); it is frozen from then on (published once)."""
    meeting = ReviewMeeting.objects.select_for_update().select_related("stage__year").get(pk=meeting_id)
    if not access.may_publish_honour_roll(by, meeting):
        raise PermissionDenied
    if not meeting.is_closed:
        raise ValidationError(_("The meeting has not closed: its results are not final."))
    if HonourRoll.objects.filter(meeting=meeting).exists():
        raise ValidationError(_("This meeting's honour roll was published already; it does not change."))
    entries = queries.honour_entries(meeting)
    roll = HonourRoll.objects.create(meeting=meeting, commended=entries["green"], named=entries["red"], published_by=by)
    record_audit(
        actor=by, action="publish honour roll", subject=roll,
        after={"commended": len(roll.commended), "named": len(roll.named)},
    )  # fmt: skip
    notify_many(
        recipients=people_of_cycle(meeting.unit_id),
        kind="honour_roll",
        subject=_("Honour roll (红黑榜) of %(meeting)s") % {"meeting": meeting},
        body=_("%(green)s tasks commended, %(red)s named.") % {"green": len(roll.commended), "red": len(roll.named)},
        link=reverse("reports:honour_roll", kwargs={"roll_id": roll.pk}),
        key=lambda user: f"honour-roll:{roll.pk}:{user.pk}",
    )
    return roll
