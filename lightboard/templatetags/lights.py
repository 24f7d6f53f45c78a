from django import template

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
