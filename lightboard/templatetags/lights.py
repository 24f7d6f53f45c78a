from django import template
from django.utils.translation import get_language

from lightboard.lights import label_of

register = template.Library()


@register.filter
def light_label(key):
    """The translated name of a light key: 绿灯 / 黄灯 / 红灯 / 未评分."""
    return label_of(key)


@register.filter
def get_count(counter, key):
    """A count from a Counter or dict, 0 when absent."""
    return counter.get(key, 0)


@register.filter
def make_list_of_words(value):
    """ "a b c" -> ["a", "b", "c"], for short fixed lists in templates."""
    return value.split()


@register.simple_tag
def colon():
    """The colon after a label: full-width in Chinese text (状态：), ": " in English."""
    return "：" if (get_language() or "").startswith("zh") else ": "


@register.filter
def plain_number(value):
    """A decimal without trailing zeros: 1.50 -> 1.5, 2.00 -> 2."""
    if value in (None, ""):
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
