"""Administrators hold every permission through their role, not through ticked boxes."""

from django.contrib.auth.backends import BaseBackend

from .roles import Role, has_role


class AdministratorRoleBackend(BaseBackend):
    """Grants every model permission to active users with the administrator role, so that
    adding someone to the administrator group is all it takes to let them set up
    lightboard in the admin."""

    def has_perm(self, user_obj, perm, obj=None):
        return user_obj.is_active and has_role(user_obj, Role.ADMINISTRATOR)

    def has_module_perms(self, user_obj, app_label):
        return user_obj.is_active and has_role(user_obj, Role.ADMINISTRATOR)
