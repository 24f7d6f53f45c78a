from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from lightboard.admin import WIDGETS, ReadOnly

from . import services
from .models import AssessmentYear, Department, KeyTask, LibraryTask, SelfAssessment, Stage, StageTarget, User


class UserChangeForm(auth_forms.UserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "is_active" in self.fields:
            # The page carries the box as it showed it, so "changed" means the administrator
            # changed it, not that the row changed (the sync deactivated the user) meanwhile.
            self.fields["is_active"].show_hidden_initial = True


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    list_display = ["username", "name", "email", "is_active", "is_staff", "from_directory"]
    list_filter = ["groups", "departments", "is_active", "is_staff"]
    search_fields = ["username", "name", "email", "wecom_userid", "dingtalk_userid"]
    # The directory id is set by directory sign-in and sync, never typed; who deactivated a user
    # follows from unticking "active" here or the suspend action (or from the directory). Active
    # or not changes only through tasks.services.set_user_active: no list_editable, no other
    # action (tests/test_directory_ldap.py holds to that).
    readonly_fields = ["directory_id", "deactivated_by"]
    actions = ["suspend"]
    # Roles, departments and permissions as check boxes, and labelled date-time inputs
    # (lightboard.admin.WIDGETS).
    filter_horizontal = []
    formfield_overrides = WIDGETS
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["name", "email"]}),
        (_("Roles and departments"), {"fields": ["groups", "departments"]}),
        (_("Directory and work apps"), {"fields": ["directory_id", "wecom_userid", "dingtalk_userid"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "deactivated_by", "is_staff", "is_superuser", "user_permissions"]},
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "name", "password1", "password2"]}),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # Everything but "active" as the form has it; "active" through the service, and only
        # when the administrator changed the box: a page loaded before the sync deactivated the
        # user, saved for another reason, leaves that deactivation alone.
        edited = [f.name for f in obj._meta.concrete_fields if f.name in form.fields and f.name != "is_active"]
        obj.save(update_fields=edited)
        if "is_active" in form.changed_data:
            services.set_user_active(user=obj, active=form.cleaned_data["is_active"], by=request.user)
        else:
            obj.refresh_from_db(fields=["is_active", "deactivated_by"])

    @admin.action(description=_("Suspend (the directory does not undo it)"), permissions=["change"])
    def suspend(self, request, queryset):
        """Deactivate the users as an administrator: also those the directory deactivated, whom
        it would otherwise reactivate when their entry is back or enabled again."""
        users = [user for user in queryset if user.pk != request.user.pk]
        for user in users:
            services.set_user_active(user=user, active=False, by=request.user)
        count = len(users)
        message = ngettext(
            "Suspended %(count)s user; the directory will not reactivate them.",
            "Suspended %(count)s users; the directory will not reactivate them.",
            count,
        )
        self.message_user(request, message % {"count": count})
        if len(users) < len(queryset):
            self.message_user(request, gettext("Your own account was left active."), messages.WARNING)

    @admin.display(boolean=True, description=_("from the directory"))
    def from_directory(self, user):
        return bool(user.directory_id)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    # The permissions as check boxes, not the two-list picker (lightboard.admin.WIDGETS).
    filter_horizontal = []
    formfield_overrides = WIDGETS


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "division_leader", "is_active"]
    list_filter = ["kind", "is_active"]
    readonly_fields = ["directory_id"]
    list_select_related = ["division_leader", "parent"]
    search_fields = ["code", "name"]
    # Plain drop-down lists, not the autocomplete (select2) boxes: an empty one (no parent unit,
    # no division leader yet) has no accessible name (axe-core: aria-input-field-name).


class StageForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A table's column headers are not the labels of its inputs: each date is named with
        # its stage ("2026年第1阶段 开始日期") for whoever cannot see the table (axe-core: label).
        for field in self.fields.values():
            field.widget.attrs["aria-label"] = f"{self.instance} {field.label}"


class StageInline(admin.TabularInline):
    model = Stage
    form = StageForm
    extra = 0
    max_num = 6
    can_delete = False
    fields = ["number", "start", "end", "self_assessment_due", "meeting_date"]
    readonly_fields = ["number"]

    def has_add_permission(self, request, obj=None):
        # Stages are generated with the year; they are edited, never added by hand.
        return False


@admin.register(AssessmentYear)
class AssessmentYearAdmin(admin.ModelAdmin):
    list_display = ["year", "green_above", "red_below"]
    inlines = [StageInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            services.ensure_stages(obj)


class StageTargetInline(ReadOnly, admin.TabularInline):
    model = StageTarget
    extra = 0


@admin.register(KeyTask)
class KeyTaskAdmin(ReadOnly, admin.ModelAdmin):
    """Read-only: tasks change through the task list screens (or the Excel import), where
    the list's state is respected and every change is recorded with its reason."""

    list_display = ["title", "department", "owner", "deadline", "weight", "year"]
    list_filter = ["year", "department"]
    list_select_related = ["department", "owner", "year"]
    # A page of 50 (each row costs the admin's rendering) and no second count of every task.
    list_per_page = 50
    show_full_result_count = False
    search_fields = ["title", "standard"]
    autocomplete_fields = ["owner", "department"]
    filter_horizontal = ["cooperating_departments"]
    inlines = [StageTargetInline]


@admin.register(LibraryTask)
class LibraryTaskAdmin(admin.ModelAdmin):
    """The task library (任务库): recurring tasks the departments pick from when they draft."""

    list_display = ["title", "weight", "active"]
    list_filter = ["active"]
    search_fields = ["title", "standard"]


@admin.register(SelfAssessment)
class SelfAssessmentAdmin(ReadOnly, admin.ModelAdmin):
    """Read-only: scores change only through the recorded self-assessment workflow."""

    list_display = ["task", "stage", "completion", "state", "submitted_at"]
    list_filter = ["state", "stage__year", "stage__number", "task__department"]
    list_select_related = ["task", "stage__year"]
