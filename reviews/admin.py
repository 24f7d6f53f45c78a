from django.contrib import admin
from django.db import transaction

from lightboard.admin import WIDGETS, ReadOnly
from tasks.audit import changes, record_audit

from .models import FollowUp, Letter, ReviewMeeting


@admin.register(ReviewMeeting)
class ReviewMeetingAdmin(admin.ModelAdmin):
    """An administrator corrects a meeting's date, place or attendees; its state and ratings
    change only in the meeting itself. Each correction is recorded."""

    list_display = ["stage", "date", "place", "state", "closed_at"]
    list_filter = ["state", "stage__year"]
    list_select_related = ["stage__year"]
    fields = ["stage", "date", "place", "attendees", "state", "opened_at", "closed_at", "closed_by"]
    readonly_fields = ["stage", "state", "opened_at", "closed_at", "closed_by"]
    formfield_overrides = WIDGETS  # the attendees as check boxes, not the two-list picker

    def has_add_permission(self, request):
        return False  # meetings are scheduled by the leadership group

    def has_delete_permission(self, request, obj=None):
        return False

    @transaction.atomic
    def save_related(self, request, form, formsets, change):
        """Record what the correction changed: date, place and attendees, before and after."""
        meeting = form.instance
        before = {
            "date": form.initial.get("date"),
            "place": form.initial.get("place"),
            "attendees": [str(user) for user in form.initial.get("attendees", [])],
        }
        super().save_related(request, form, formsets, change)
        after = {"date": meeting.date, "place": meeting.place, "attendees": [str(u) for u in meeting.attendees.all()]}
        changed_before, changed_after = changes(before, after)
        if changed_after:
            record_audit(
                actor=request.user, action="change meeting", subject=meeting, before=changed_before, after=changed_after
            )


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["rating", "kind", "state", "inspector", "due_date", "serious"]
    list_filter = ["kind", "state", "serious"]
    list_select_related = ["rating__task", "rating__meeting__stage__year", "inspector"]
    search_fields = ["rating__task__title"]


@admin.register(Letter)
class LetterAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["number", "kind", "case", "meeting", "issued_at", "issued_by"]
    list_filter = ["kind", "year"]
    list_select_related = ["case__rating__task", "meeting__stage__year", "issued_by"]
    exclude = ["notifications"]

    @admin.display(description=Letter._meta.get_field("sequence").verbose_name)
    def number(self, letter):
        return letter.number
