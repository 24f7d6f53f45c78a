"""The Jinja2 environment for the few hot fragments that Django templates render too slowly
(the review board's rows: thousands of cells). Same translations, same URLs."""

from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from jinja2 import Environment

from lightboard.lights import label_of


def environment(**options):
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(translation.gettext, translation.ngettext, newstyle=True)
    env.globals.update({"url": reverse, "static": static, "light_label": label_of})
    return env
