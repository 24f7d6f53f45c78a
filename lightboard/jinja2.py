"""The Jinja2 environment for the few hot fragments that Django templates render too slowly
(the review board's rows: thousands of cells). Same translations, same URLs."""

from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from jinja2 import Environment

from lightboard.lights import label_of

_MARKER = 2147483647


def url_maker(name):
    """A function from an object's id to the URL `name` gives it, at the cost of one reverse():
    reverse() takes some 20 µs, which a board of thousands of rows would pay for every link."""
    head, _marker, tail = reverse(name, args=[_MARKER]).partition(str(_MARKER))
    return lambda pk: f"{head}{pk}{tail}"


def environment(**options):
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(translation.gettext, translation.ngettext, newstyle=True)
    env.globals.update({"static": static, "light_label": label_of})
    return env
