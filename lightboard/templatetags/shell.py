"""The site shell's tags (templates/base.html): the parts of every page's header that do not
change between requests are worked out once per process, not on every page."""

from django import template
from django.conf import settings
from django.template.loader import get_template

from lightboard.navigation import fixed_url as _fixed_url

register = template.Library()

_language_buttons = {}


@register.simple_tag
def fixed_url(name):
    """{% url name %} for a URL that takes no arguments, resolved once per process."""
    return _fixed_url(name)


@register.simple_tag
def language_buttons(current):
    """The language switcher's buttons (base.html#language-buttons) with `current` pressed:
    they depend on nothing else, so each language's are rendered once per process."""
    key = (current, tuple(settings.LANGUAGES))
    html = None if settings.DEBUG else _language_buttons.get(key)
    if html is None:
        html = _language_buttons[key] = get_template("base.html#language-buttons").render({"LANGUAGE_CODE": current})
    return html
