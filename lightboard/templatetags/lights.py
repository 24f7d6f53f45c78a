from django import template

from lightboard.lights import label_of

register = template.Library()


@register.filter
def light_label(key):
    """The translated name of a light key: 绿灯 / 黄灯 / 红灯 / 未评分."""
    return label_of(key)
