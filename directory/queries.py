"""What the directory's groups give in lightboard, by the administrators' mappings."""

from dataclasses import dataclass

from tasks.models import Department

from .models import DirectoryGroupMapping


@dataclass(frozen=True)
class Grants:
    roles: frozenset  # Role values
    department_ids: frozenset
    unit_id: int | None


def _common_unit(unit_ids):
    """The one unit named, or, when the groups name several, the nearest unit above them all
    (None, the whole group, when they meet only at the top)."""
    if len(unit_ids) <= 1:
        return next(iter(unit_ids), None)
    parents = dict(Department.objects.values_list("pk", "parent_id"))

    def chain(unit_id):
        found = []
        while unit_id is not None and unit_id not in found:
            found.append(unit_id)
            unit_id = parents.get(unit_id)
        return found

    chains = [chain(unit_id) for unit_id in sorted(unit_ids)]
    shared = set(chains[0]).intersection(*chains[1:])
    return next((unit_id for unit_id in chains[0] if unit_id in shared), None)


class Mappings:
    """The administrators' mappings, read once (a sync asks them for every person)."""

    def __init__(self):
        self.by_group = {}
        for mapping in DirectoryGroupMapping.objects.all():
            self.by_group.setdefault(mapping.group_dn, []).append(mapping)

    def grants(self, group_dns):
        found = [mapping for dn in group_dns for mapping in self.by_group.get(dn, ())]
        return Grants(
            roles=frozenset(m.role for m in found if m.role),
            department_ids=frozenset(m.department_id for m in found if m.department_id),
            unit_id=_common_unit({m.unit_id for m in found if m.unit_id}),
        )
