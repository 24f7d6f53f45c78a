from django.contrib import admin

from lightboard.admin import ReadOnly

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnly, admin.ModelAdmin):
    """The outbox, read-only: administrators see what was sent and what failed, and why.
    Rows are written by the services and delivered by the workers, never edited by hand."""

    list_display = ["recipient", "kind", "subject", "state", "attempts", "last_error", "created_at"]
    list_filter = ["state", "kind"]
    list_select_related = ["recipient"]
    search_fields = ["subject", "recipient__username", "recipient__name", "idempotency_key"]
    date_hierarchy = "created_at"
