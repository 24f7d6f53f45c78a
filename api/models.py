import hashlib
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from tasks.models import Department

TOKEN_PREFIX = "lb_"


def hash_token(token):
    """The stored form of a token. Tokens are long random strings, so one SHA-256 is enough: there
    is nothing to guess that a slow hash would protect."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token():
    """`lb_` and 64 hexadecimal digits (256 random bits): letters and digits only, so a double-click
    selects the whole token. Tokens issued earlier in another alphabet keep working: only the hash
    of a token is stored and compared."""
    return TOKEN_PREFIX + secrets.token_hex(32)


def _unknown_token_hash():
    # Until a token is issued the account answers to none: this hash is of a token nobody was given.
    return hash_token(new_token())


class IntegrationAccount(models.Model):
    """A system that reads lightboard through the JSON API (the OA system, a data platform): its
    own token, the units it may read (each with everything below it), and whether it may also
    write self-assessments. Created in the admin, which shows the token once."""

    class Access(models.TextChoices):
        READ = "read", _("Read only")
        READ_WRITE = "read_write", _("Read, and write self-assessments")

    name = models.CharField(_("name"), max_length=100, unique=True, help_text=_("The system, e.g. OA system."))
    description = models.TextField(_("description"), blank=True, help_text=_("What it is for and who runs it."))
    access = models.CharField(_("access"), max_length=20, choices=Access, default=Access.READ)
    whole_group = models.BooleanField(
        _("whole group"), default=False, help_text=_("Reads every unit. Otherwise only the units chosen below.")
    )
    units = models.ManyToManyField(
        Department,
        blank=True,
        related_name="+",
        verbose_name=_("units"),
        help_text=_("The account reads these units and every unit below them."),
    )
    is_active = models.BooleanField(_("active"), default=True, help_text=_("An inactive account's token is refused."))
    token_prefix = models.CharField(_("token begins with"), max_length=12, blank=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, default=_unknown_token_hash, editable=False)
    token_issued_at = models.DateTimeField(_("token issued at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("integration account")
        verbose_name_plural = _("integration accounts")

    def __str__(self):
        return self.name

    @property
    def may_write(self):
        return self.access == self.Access.READ_WRITE
