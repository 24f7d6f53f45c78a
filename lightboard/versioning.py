"""Optimistic locking for records that several people edit (a draft self-assessment, a rating
in meeting mode, a follow-up case): every form carries the version it was loaded at, and a
write based on an older version is refused with who changed the record and when, instead of
silently overwriting their change."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Versioned(models.Model):
    """A record edited under optimistic locking: its version, and who wrote it last and when."""

    version = models.PositiveIntegerField(default=0, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class StaleEdit(ValidationError):
    """Someone else changed the record since the user loaded it; nothing was saved."""

    def __init__(self, record):
        who = record.updated_by or gettext("someone")
        when = formats.date_format(timezone.localtime(record.updated_at), "SHORT_DATETIME_FORMAT")
        super().__init__(
            gettext("%(who)s changed this at %(when)s. Reload the page to see their change; yours was not saved.")
            % {"who": who, "when": when}
        )


def _latest(record):
    return type(record).objects.select_related("updated_by").get(pk=record.pk)


def check_version(record, version):
    """Raise StaleEdit unless `record` (read under a row lock) is still at `version`."""
    if record.version != version:
        raise StaleEdit(_latest(record))


def bump(record, *, version, by, **fields):
    """Write `fields` to the record's row only if the row is still at `version`, counting one
    more version and recording who wrote it and when; raise StaleEdit, writing nothing,
    otherwise. The record in memory is updated to match."""
    now = timezone.now()
    written = (
        type(record)
        .objects.filter(pk=record.pk, version=version)
        .update(version=version + 1, updated_by=by, updated_at=now, **fields)
    )
    if not written:
        raise StaleEdit(_latest(record))
    for name, value in fields.items():
        setattr(record, name, value)
    record.version, record.updated_by, record.updated_at = version + 1, by, now
    return record
