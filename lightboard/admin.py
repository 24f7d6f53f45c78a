from django import forms
from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.apps import AdminConfig
from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import Role, has_role


class ReadOnly:
    """Seen, not changed, in the admin: what it is mixed into changes only through its
    recorded workflow. For model admins and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SplitDateTime(widgets.AdminSplitDateTime):
    """Django's date and time inputs of a date-time field, each with its own label ("日期:",
    "时间:"), where Django's own template writes the two words as bare text."""

    template_name = "lightboard/admin/split_datetime.html"


# A model admin's widgets (formfield_overrides = WIDGETS) where Django's own fail axe-core
# (tests/browser/test_accessibility_in_chromium.py). Many-to-many fields are check boxes, not the
# two-list picker (filter_horizontal), whose JavaScript leaves its two lists unlabelled and puts
# aria-label on a span without a role; a long list scrolls in its own box (static/css/admin.css).
WIDGETS = {
    models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple(attrs={"class": "checkbox-list"})},
    models.DateTimeField: {"widget": SplitDateTime},
}


class LightboardAdminSite(admin.AdminSite):
    site_header = _("lightboard administration")
    site_title = _("lightboard administration")

    def has_permission(self, request):
        user = request.user
        return user.is_active and (user.is_staff or has_role(user, Role.ADMINISTRATOR))


class LightboardAdminConfig(AdminConfig):
    default_site = "lightboard.admin.LightboardAdminSite"
