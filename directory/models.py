import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from lightboard.roles import Role


def normal_dn(dn):
    """A DN as the directory compares it: case and the spaces around , and = do not matter.
    (Plain text, so that this module works without python-ldap.)"""
    return re.sub(r"\s*([,=+])\s*", r"\1", (dn or "").strip()).lower()


class DirectoryGroupMapping(models.Model):
    """What membership of one directory group gives in lightboard: a role, work in a department,
    and the unit the roles are held for. Kept in the admin so that administrators follow a
    reorganisation without a redeployment, choosing departments from a list, not typing codes."""

    group_dn = models.CharField(
        _("directory group"),
        max_length=255,
        unique=True,
        help_text=_("The group's distinguished name (DN), e.g. cn=lightboard-staff,ou=groups,dc=example,dc=com."),
    )
    role = models.CharField(_("role"), max_length=30, choices=Role, blank=True)
    department = models.ForeignKey(
        "tasks.Department",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("works in department"),
    )
    unit = models.ForeignKey(
        "tasks.Department",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("roles held for"),
        help_text=_("Leave empty for the whole group."),
    )

    class Meta:
        ordering = ["group_dn"]
        verbose_name = _("directory group mapping")
        verbose_name_plural = _("directory group mappings")

    def __str__(self):
        return self.group_dn

    def save(self, *args, **kwargs):
        self.group_dn = normal_dn(self.group_dn)
        super().save(*args, **kwargs)

    def clean(self):
        self.group_dn = normal_dn(self.group_dn)
        if not self.role and self.department_id is None and self.unit_id is None:
            raise ValidationError(_("Choose a role, a department or a unit for the members of this group."))
