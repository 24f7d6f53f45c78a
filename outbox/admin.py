import datetime

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from lightboard.admin import ReadOnly
from lightboard.roles import Role, has_role

from . import kinds, services
from .models import ChannelDelivery, Notification, Preference

# A message still pending this long after it was written deserves a look.
LONG_PENDING = datetime.timedelta(hours=1)


class AttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("failed", _("Failed")), ("waiting", _("Pending for over an hour"))]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.filter(state=Notification.State.FAILED)
        if self.value() == "waiting":
            return queryset.filter(state=Notification.State.PENDING, created_at__lt=timezone.now() - LONG_PENDING)
        return queryset


class ChannelDeliveryInline(ReadOnly, admin.TabularInline):
    """The notification's WeCom/DingTalk deliveries, each with its own state."""

    model = ChannelDelivery
    extra = 0
    fields = ["channel", "state", "attempts", "last_error", "next_attempt_at", "sent_at"]
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnly, admin.ModelAdmin):
    """The outbox: administrators see what was sent, what waits and what failed, and why, and
    re-queue failed or long-pending messages. Rows are written by the services and delivered
    by the workers, never edited by hand."""

    list_display = [
        "recipient", "kind_shown", "subject", "state", "attempts", "last_error", "created_at", "next_attempt_at",
    ]  # fmt: skip
    list_filter = [AttentionFilter, "state", "kind"]
    list_select_related = ["recipient"]
    search_fields = ["subject", "recipient__username", "recipient__name", "idempotency_key"]
    date_hierarchy = "created_at"
    actions = ["requeue_selected"]
    inlines = [ChannelDeliveryInline]

    @admin.display(description=_("kind"), ordering="kind")
    def kind_shown(self, notification):
        """The category a person reads, with the kind's code for whoever traces it."""
        return f"{kinds.category_of(notification.kind).label} ({notification.kind})"

    def has_requeue_permission(self, request):
        """Only administrators re-queue: the admin's other staff may look, not act."""
        return has_role(request.user, Role.ADMINISTRATOR)

    @admin.action(description=_("Re-queue the selected messages (failed or pending)"), permissions=["requeue"])
    def requeue_selected(self, request, queryset):
        self._requeue(request, queryset)

    def get_urls(self):
        requeue_all = self.admin_site.admin_view(require_POST(self.requeue_all_failed))
        return [path("requeue-failed/", requeue_all, name="outbox_notification_requeue_failed"), *super().get_urls()]

    def requeue_all_failed(self, request):
        if not self.has_requeue_permission(request):
            raise PermissionDenied
        self._requeue(request, Notification.objects.filter(state=Notification.State.FAILED))
        return redirect("admin:outbox_notification_changelist")

    def _requeue(self, request, notifications):
        ids = services.requeue(notifications=notifications)
        if ids:  # on the admin's own record of who changed what
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=Notification.objects.filter(pk__in=ids),
                action_flag=CHANGE,
                change_message="Re-queued",
                single_object=False,
            )
        count = len(ids)
        if count:
            message = ngettext("%(count)d message re-queued.", "%(count)d messages re-queued.", count)
            self.message_user(request, message % {"count": count}, messages.SUCCESS)
        else:
            self.message_user(request, _("Nothing to re-queue: only failed or pending messages are."), messages.WARNING)

    def changelist_view(self, request, extra_context=None):
        failed = Notification.objects.filter(state=Notification.State.FAILED).count()
        may_requeue = self.has_requeue_permission(request)
        return super().changelist_view(request, {**(extra_context or {}), "failed_count": may_requeue and failed})


@admin.register(ChannelDelivery)
class ChannelDeliveryAdmin(ReadOnly, admin.ModelAdmin):
    """WeCom and DingTalk deliveries, beside the outbox: what went, what waits and what failed
    (an unknown user id, a service that kept failing), and why; administrators re-queue failed
    ones once the cause is fixed."""

    list_display = [
        "recipient", "channel", "subject", "state", "attempts", "last_error", "created_at", "next_attempt_at",
    ]  # fmt: skip
    list_filter = ["state", "channel"]
    list_select_related = ["notification__recipient"]
    search_fields = ["notification__subject", "notification__recipient__username", "notification__idempotency_key"]
    date_hierarchy = "created_at"
    actions = ["requeue_selected"]

    @admin.display(description=_("recipient"), ordering="notification__recipient")
    def recipient(self, delivery):
        return delivery.notification.recipient

    @admin.display(description=_("subject"))
    def subject(self, delivery):
        return delivery.notification.subject

    def has_requeue_permission(self, request):
        return has_role(request.user, Role.ADMINISTRATOR)

    @admin.action(description=_("Re-queue the selected deliveries (failed or pending)"), permissions=["requeue"])
    def requeue_selected(self, request, queryset):
        ids = services.requeue_deliveries(deliveries=queryset)
        if ids:
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=ChannelDelivery.objects.filter(pk__in=ids),
                action_flag=CHANGE,
                change_message="Re-queued",
                single_object=False,
            )
            message = ngettext("%(count)d delivery re-queued.", "%(count)d deliveries re-queued.", len(ids))
            self.message_user(request, message % {"count": len(ids)}, messages.SUCCESS)
        else:
            nothing = _("Nothing to re-queue: only failed or pending deliveries are.")
            self.message_user(request, nothing, messages.WARNING)


@admin.register(Preference)
class PreferenceAdmin(ReadOnly, admin.ModelAdmin):
    """Each person sets these on their message settings page."""

    list_display = ["user", "category", "mode"]
    list_filter = ["category", "mode"]
    list_select_related = ["user"]
