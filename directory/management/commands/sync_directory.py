import contextlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = (
        "Bring users (and, with LDAP_UNIT_SEARCH_BASE, departments) in step with the directory. "
        "Prints what would change; --apply writes it, in one transaction, with audit entries."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="write the changes (without it: a dry run)")

    def handle(self, *args, apply=False, **options):
        with translation.override(settings.LANGUAGE_CODE):
            self._sync(apply)

    def _sync(self, apply):
        if not settings.LDAP_SERVER_URI:
            raise CommandError(_("Directory sync needs LDAP_SERVER_URI (and the other LDAP_* settings)."))
        try:
            from directory import reader, services
            from directory.tasks import one_sync_at_a_time
        except ImportError as error:
            raise CommandError(
                _("Directory sync needs python-ldap: install lightboard's `directory` extra (%(error)s).")
                % {"error": error}
            ) from None
        # A dry run changes nothing: it neither waits for another sync (beat's) nor holds one up.
        with one_sync_at_a_time() if apply else contextlib.nullcontext(True) as alone:
            if apply and not alone:
                raise CommandError(_("Another directory sync is still running; nothing changed. Try again later."))
            try:
                people, units = reader.read_directory()
                lines = services.sync_directory(people=people, units=units, apply=apply)
            except reader.DirectoryUnavailable as error:
                message = _("The directory could not be read: %(error)s. Nothing changed.")
                raise CommandError(message % {"error": error}) from None
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        for line in lines:
            self.stdout.write(str(line))
        count = sum(1 for line in lines if line.sign != "!")
        if not count:
            self.stdout.write(_("Nothing to change: lightboard agrees with the directory."))
        elif apply:
            self.stdout.write(self.style.SUCCESS(_("Applied %(count)s changes.") % {"count": count}))
        else:
            message = _("Dry run: %(count)s changes, nothing written. Run again with --apply to write them.")
            self.stdout.write(message % {"count": count})
