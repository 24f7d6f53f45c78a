import axes.apps
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LightboardConfig(AppConfig):
    name = "lightboard"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .sessions import start_idle_clock

        user_logged_in.connect(start_idle_clock, dispatch_uid="lightboard-start-idle-clock")


class SignInThrottlingConfig(axes.apps.AppConfig):
    """django-axes, named in the admin in the interface language. Its models' names (access
    attempts, access logs…) are translated by lightboard's catalogue: they are lazy strings, so
    no migration is needed."""

    # Named in INSTALLED_APPS; not the configuration Django picks for the lightboard app.
    default = False
    verbose_name = _("Sign-in throttling")
