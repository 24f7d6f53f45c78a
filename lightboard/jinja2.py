"""The Jinja2 environment for the few hot fragments that Django templates render too slowly
(the review board's rows: thousands of cells). Same translations, same URLs."""

from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from jinja2 import Environment

from lightboard.lights import label_of

_MARKER = 2147483647


def url_maker(name, *rest):
    """A function from an object's id to the URL `name` gives it (followed by the arguments `rest`),
    at the cost of one reverse(): reverse() takes some 20 µs, which a board of thousands of rows
    would pay for every link."""
    head, _marker, tail = reverse(name, args=[_MARKER, *rest]).partition(str(_MARKER))
    return lambda pk: f"{head}{pk}{tail}"


class Once(dict):
    """{value: render(value)}, each rendered on first use. Rows of a Jinja2 fragment look their
    cells and links up here: a dictionary lookup is several times cheaper in Jinja2 than a call,
    and a list of thousands of rows has only a handful of distinct light cells."""

    def __init__(self, render):
        super().__init__()
        self.render = render

    def __missing__(self, key):
        value = self[key] = self.render(key)
        return value


def environment(**options):
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(translation.gettext, translation.ngettext, newstyle=True)
    env.globals.update({"static": static, "light_label": label_of})
    return env
