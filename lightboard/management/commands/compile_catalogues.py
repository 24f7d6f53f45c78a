from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Compile the translation catalogues (.po -> .mo) in pure Python, so that installing "
        "lightboard needs no GNU gettext on the machine."
    )

    def handle(self, *args, **options):
        compiled = 0
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                catalogue = polib.pofile(str(po_path))
                if catalogue.metadata_is_fuzzy:
                    raise CommandError(f"{po_path}: the header is marked fuzzy; fix it before compiling.")
                catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
                compiled += 1
                if options["verbosity"] > 1:
                    self.stdout.write(f"compiled {po_path}")
        if options["verbosity"] > 0:
            self.stdout.write(self.style.SUCCESS(f"{compiled} catalogue(s) compiled."))
