from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .kinds import Category, Mode


class Notification(models.Model):
    """The outbox: one message to one person, written in the transaction that causes it.
    Shown in the in-app inbox at once; the workers e-mail pending rows, and the daily digest
    gathers held ones."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        HELD = "held", _("Held for the daily digest")
        SENT = "sent", _("Sent")
        DIGESTED = "digested", _("Sent in a digest")
        FAILED = "failed", _("Failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=40)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Scheduled work is a row with a due time (picked up by the beat sweep), never a
    # long Celery countdown: a Redis broker redelivers unacknowledged tasks only late.
    # While a worker holds the row (claimed_at set) it is the end of that worker's lease.
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now, db_index=True)
    # Set when a worker claims the row, cleared when it records the outcome: a row claimed
    # again with claimed_at still set was being sent when its worker died.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claim_token = models.CharField(_("claim"), max_length=32, blank=True)
    crashes = models.PositiveSmallIntegerField(_("deliveries cut short"), default=0)
    # Transport errors are retried until then (empty: created_at + OUTBOX_GIVE_UP_HOURS).
    retry_until = models.DateTimeField(_("retried until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    digest = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="gathered", verbose_name=_("digest")
    )

    class Meta:
        # The outbox began inside the reviews app; its rows stayed in their table when it moved.
        db_table = "reviews_notification"
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["state", "created_at"]),
            # The claim: due pending rows in (next_attempt_at, id) order, read straight off the index.
            models.Index(fields=["state", "next_attempt_at", "id"], name="outbox_due"),
        ]

    def __str__(self):
        return self.subject


class Preference(models.Model):
    """How one person wants one category of message e-mailed: at once or in the daily digest
    (the inbox always shows it at once). No row: the category's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_preferences", verbose_name=_("user")
    )
    category = models.CharField(_("category"), max_length=20, choices=Category)
    mode = models.CharField(_("e-mail"), max_length=10, choices=Mode)

    class Meta:
        verbose_name = _("message preference")
        verbose_name_plural = _("message preferences")
        constraints = [models.UniqueConstraint(fields=["user", "category"], name="one_preference_per_category")]

    def __str__(self):
        return f"{self.user}: {self.category} = {self.mode}"


class ChannelDelivery(models.Model):
    """A notification delivered through a work app (WeCom or DingTalk): its own delivery, beside
    the e-mail, with the same claims, leases, backoff, retry time and poison limit (outbox.delivery
    runs both). Written with the notification, for a recipient who has a user id in a configured
    app; the inbox row stays the one message."""

    class Channel(models.TextChoices):
        WECOM = "wecom", _("WeCom")
        DINGTALK = "dingtalk", _("DingTalk")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="channel_deliveries", verbose_name=_("notification")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claim_token = models.CharField(_("claim"), max_length=32, blank=True)
    crashes = models.PositiveSmallIntegerField(_("deliveries cut short"), default=0)
    retry_until = models.DateTimeField(_("retried until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # DingTalk's "sent" means its task was accepted: the task id, and when getsendresult confirmed
    # that the person got the message (outbox.channels.confirm_sent). Empty for WeCom.
    task_id = models.CharField(_("task id"), max_length=40, blank=True)
    confirmed_at = models.DateTimeField(_("delivery confirmed at"), null=True, blank=True)
    # When getsendresult is asked about the task next (set when it is accepted, moved on after
    # every question DingTalk has no answer to yet): unanswered tasks are asked in turn, ever
    # less often, not every run. Empty on rows sent before it existed: then sent_at decides.
    next_check_at = models.DateTimeField(_("result asked for next at"), null=True, blank=True)
    # How often DingTalk reported the message not shown (a limit, a failed send) and it was put
    # back: the re-send carries a token of its own, so the app's "same content today" rule, which
    # may count the copy it did not show, cannot swallow it.
    resends = models.PositiveSmallIntegerField(_("sent again after not being shown"), default=0, db_default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("work-app delivery")
        verbose_name_plural = _("work-app deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="one_delivery_per_channel"),
        ]
        indexes = [
            models.Index(fields=["channel", "state", "next_attempt_at", "id"], name="outbox_channel_due"),
            models.Index(fields=["channel", "state", "next_check_at"], name="outbox_channel_check"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()}: {self.notification_id}"
