from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = _("Directory")

    def ready(self):
        from workapps.signin import signing_in

        from .workapp_checks import check_directory_person

        signing_in.connect(check_directory_person, dispatch_uid="directory.workapp_checks")
