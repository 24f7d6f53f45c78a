from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from .roles import Role, has_role


class LightboardAdminSite(admin.AdminSite):
    site_header = "lightboard"
    site_title = "lightboard"

    def has_permission(self, request):
        user = request.user
        return user.is_active and (user.is_staff or has_role(user, Role.ADMINISTRATOR))


class LightboardAdminConfig(AdminConfig):
    default_site = "lightboard.admin.LightboardAdminSite"
