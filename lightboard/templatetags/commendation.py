from django import template

from reviews.queries import latest_commendation

register = template.Library()


@register.inclusion_tag("partials/commendation.html")
def commendation_banner():
    """The latest commendation notice and its green tasks, shown on each role's main screen."""
    return {"commendation": latest_commendation()}
