from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkAppsConfig(AppConfig):
    name = "workapps"
    verbose_name = _("WeCom and DingTalk")
