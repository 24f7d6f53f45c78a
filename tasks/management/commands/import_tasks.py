from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from tasks import access
from tasks.excel import ImportRejected, import_task_list
from tasks.models import AssessmentYear, Department, User
from tasks.queries import task_list_of


class Command(BaseCommand):
    help = (
        "Fill a department's draft key task list for a year from an .xlsx file "
        "(the format of the download template). All or nothing: any bad row saves nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The .xlsx file to import.")
        parser.add_argument("--department", required=True, help="The department's short code.")
        parser.add_argument("--year", required=True, type=int, help="The assessment year.")
        parser.add_argument(
            "--as",
            dest="actor",
            metavar="USERNAME",
            help="Staff member of the department recorded in the audit trail as the author.",
        )

    def handle(self, *args, file, department, year, actor=None, **options):
        try:
            department_obj = Department.objects.get(code=department)
        except Department.DoesNotExist:
            raise CommandError(f"Unknown department code {department!r}.") from None
        try:
            year_obj = AssessmentYear.objects.get(year=year)
        except AssessmentYear.DoesNotExist:
            raise CommandError(f"There is no assessment year {year}; create it in the admin site first.") from None
        if not actor:
            raise CommandError(
                "Pass --as USERNAME: every change is audited with the person who made it, "
                f"so name a staff member of {department_obj.code}."
            )
        try:
            user = User.objects.get(username=actor)
        except User.DoesNotExist:
            raise CommandError(f"Unknown user {actor!r} (--as).") from None
        if not access.can_work_on(user, department_obj):
            raise CommandError(
                f"{actor} is not department staff of {department_obj.code}, so cannot change "
                "its list; pass --as with one of its staff."
            )
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")

        task_list = task_list_of(year_obj, department_obj)
        try:
            result = import_task_list(task_list=task_list, file=path, by=user)
        except ImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(rejected.errors)} problem(s) in {file}: nothing was imported.") from None
        except PermissionDenied:
            raise CommandError(f"{actor} may not change the list of {department_obj.code}.") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{department_obj.code} {year_obj.year}: {result.created} created, "
                f"{result.updated} updated, {result.unchanged} unchanged."
            )
        )
