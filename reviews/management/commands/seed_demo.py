from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reviews.demo import load_review_demo
from reviews.models import ReviewMeeting
from tasks.demo import DEMO_PASSWORD, LOGINS, load_demo_data
from tasks.models import KeyTask


class Command(BaseCommand):
    help = "Load the demo company, its tasks and one login per role (password 'demo'). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load demo logins even with DEBUG off (they have a well-known password).",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: refusing to create demo logins with a well-known password. "
                "Use --force if you really mean it."
            )
        year = load_demo_data()
        load_review_demo(year)
        count = KeyTask.objects.filter(year=year).count()
        meetings = ReviewMeeting.objects.filter(stage__year=year).count()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: year {year.year}, {count} key tasks, {meetings} review meetings.")
        )
        logins = ", ".join(username for username, *_ in LOGINS)
        self.stdout.write(f"Logins: {logins} (password: {DEMO_PASSWORD})")
