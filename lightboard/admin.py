from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
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


class LightboardAdminSite(admin.AdminSite):
    site_header = _("lightboard administration")
    site_title = _("lightboard administration")

    def has_permission(self, request):
        user = request.user
        return user.is_active and (user.is_staff or has_role(user, Role.ADMINISTRATOR))


class LightboardAdminConfig(AdminConfig):
    default_site = "lightboard.admin.LightboardAdminSite"
