from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("API for integrations")

    def ready(self):
        """Name the action the API records when it issues a token (the admin's audit trail)."""
        from tasks.audit import register_history_names

        register_history_names(actions={"issue api token": _("API token issued")})
