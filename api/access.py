"""What an integration account may read: the units it was given and every unit below them (the
whole group for a group-wide account), as the rest of lightboard scopes a role held at a unit.
Anything outside answers 404, as a page of another unit does."""

from django.http import Http404

from reviews.models import FollowUp, ReviewMeeting
from tasks.models import Department, KeyTask
from tasks.queries import org_tree


def scope_of(integration):
    """The ids of the units the account reads, or None for the whole group; read once per request
    (two queries for an account scoped to units)."""
    if integration.whole_group:
        return None
    cached = integration.__dict__.get("_api_scope")
    if cached is None:
        chosen = list(integration.units.values_list("pk", flat=True))
        tree = org_tree() if chosen else None
        cached = frozenset(unit_id for chosen_id in chosen for unit_id in tree.below(chosen_id))
        integration.__dict__["_api_scope"] = cached
    return cached


def unit_ids(integration, code):
    """The unit with this code and every unit below it, among those the account reads (a filter
    by unit narrows what the account reads; it never widens it)."""
    tree = org_tree()
    unit = next((u for u in tree.units.values() if u.code == code), None)
    if unit is None:
        return []
    scope = scope_of(integration)
    return [pk for pk in tree.below(unit.pk) if scope is None or pk in scope]


def _within(queryset, integration, field):
    scope = scope_of(integration)
    return queryset if scope is None else queryset.filter(**{f"{field}__in": scope})


def units_in_scope(integration):
    return _within(Department.objects.all(), integration, "pk")


def tasks_in_scope(integration):
    """Tasks led by a unit the account reads."""
    return _within(KeyTask.objects.all(), integration, "department")


def get_task(integration, task_id):
    try:
        return tasks_in_scope(integration).select_related("year", "department", "owner").get(pk=task_id)
    except KeyTask.DoesNotExist:
        raise Http404 from None


def meetings_in_scope(integration):
    """The meetings of the review cycles the account reaches: every one for the whole group; a
    subsidiary's own for an account given that subsidiary or a unit above it (the group's
    meetings review every unit, so they are for group-wide accounts only, as for roles)."""
    scope = scope_of(integration)
    meetings = ReviewMeeting.objects.all()
    return meetings if scope is None else meetings.filter(unit_id__in=scope)


def get_meeting(integration, meeting_id):
    try:
        return meetings_in_scope(integration).select_related("stage__year", "unit").get(pk=meeting_id)
    except ReviewMeeting.DoesNotExist:
        raise Http404 from None


def cases_in_scope(integration):
    return _within(FollowUp.objects.all(), integration, "rating__task__department")
