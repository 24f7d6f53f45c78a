from django.db import models
from django.utils.translation import gettext_lazy as _

from reviews.models import ReviewMeeting
from tasks.models import User


class HonourRoll(models.Model):
    """The 红黑榜 of a closed meeting: the tasks lit green, to commend, and those lit red, to
    name, as the leadership group approved and published them to everyone. Frozen when
    published: later amendments do not change it."""

    meeting = models.OneToOneField(
        ReviewMeeting, on_delete=models.PROTECT, related_name="honour_roll", verbose_name=_("meeting")
    )
    # [{"task": title, "department": name, "owner": name, "score": "92.0"}, ...] as published.
    commended = models.JSONField(_("commended (红榜)"), default=list)
    named = models.JSONField(_("named (黑榜)"), default=list)
    published_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("approved by"))
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)

    class Meta:
        ordering = ["-published_at"]
        verbose_name = _("honour roll (红黑榜)")
        verbose_name_plural = _("honour rolls (红黑榜)")

    def __str__(self):
        return str(self.meeting)
