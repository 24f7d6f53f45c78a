from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What the audit trail calls the actions recorded on integration accounts.
HISTORY_ACTIONS = {
    "issue api token": _("API token issued"),
    "create api integration": _("Integration account created"),
    "change api integration": _("Integration account changed"),
}


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("API for integrations")

    def ready(self):
        """Name the actions the API records on integration accounts (the admin's audit trail)."""
        from tasks.audit import register_history_names

        register_history_names(actions=HISTORY_ACTIONS)
