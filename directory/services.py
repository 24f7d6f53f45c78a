"""Keeping lightboard's people and units in step with the directory: at each sign-in (one
person) and in the sync (everyone). Writes are audited; local accounts are never touched.

Plain Python and Django only: the LDAP side (reader.py, backends.py) hands in Person and Unit."""

import re
from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from lightboard.roles import Role
from tasks.audit import changes, record_audit
from tasks.models import Department, User

from .queries import Mappings

CREATE_USER = "directory: create user"
CHANGE_USER = "directory: change user"
DEACTIVATE_USER = "directory: deactivate user"
CREATE_UNIT = "directory: create unit"
CHANGE_UNIT = "directory: change unit"
DEACTIVATE_UNIT = "directory: deactivate unit"


def REASON():  # noqa: N802 - read as a constant, translated when used
    return _("directory sync")


SHORT_CODE = re.compile(r"^[-a-zA-Z0-9_]{1,20}$")


@dataclass(frozen=True)
class Person:
    """A person as the directory has them."""

    directory_id: str
    dn: str
    username: str
    name: str
    email: str
    wecom_userid: str
    dingtalk_userid: str
    group_dns: frozenset
    disabled: bool


@dataclass(frozen=True)
class Unit:
    """An organisational unit as the directory has it."""

    directory_id: str
    dn: str
    parent_dn: str | None
    code: str
    name: str
    subsidiary: bool


@dataclass
class Line:
    """One line of the sync's plan: + created, ~ changed, - deactivated, ! left alone (why)."""

    sign: str
    text: str

    def __str__(self):
        return f"{self.sign} {self.text}"


@dataclass
class Followed:
    user: User
    created: bool
    before: dict
    after: dict
    warnings: list = field(default_factory=list)


# --- people ---------------------------------------------------------------------------------


def _user_state(user):
    roles = set(Role.values)
    return {
        "directory_id": user.directory_id,
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "wecom_userid": user.wecom_userid,
        "dingtalk_userid": user.dingtalk_userid,
        "is_active": user.is_active,
        "roles": sorted(name for name in user.groups.values_list("name", flat=True) if name in roles),
        "departments": sorted(user.departments.values_list("name", flat=True)),
        "unit": user.unit.name if user.unit_id else "",
    }


def existing_user(person, *, present_ids=None):
    """(the lightboard user of `person` or None, why not when one is in the way). Found by the
    directory id. Else, in the sync, which reads everyone (`present_ids`), an active user of the
    same username whose own entry is gone from the directory is the same person under an entry
    re-created since the last sync. Once a sync has found the entry gone and deactivated its
    user, that user is a former member's, with their history and work-app ids: a newcomer given
    the username later never inherits it; an administrator decides (renames the old account,
    and the next sync creates the newcomer's). At sign-in (no `present_ids`) nobody can tell a
    re-created entry from a new person, so another entry's user is never taken over there. Nor
    is a local account of that username, ever."""
    user = User.objects.filter(directory_id=person.directory_id).first()
    if user is not None:
        return user, None
    same = User.objects.filter(username__iexact=person.username).first()
    if same is None:
        return None, None
    if not same.directory_id:
        return None, _("a local account has this username; left alone")
    if present_ids is None or same.directory_id in present_ids:
        return None, _("another directory entry has this username; left alone")
    if not same.is_active:
        return None, _("the username is a former member's account; left for an administrator")
    return same, None


def suspended_here(user):
    """True when `user` is inactive and the directory did not make them so: an administrator
    suspended them in lightboard, and no sign-in or sync may undo that."""
    return user is not None and not user.is_active and user.deactivated_by != User.DeactivatedBy.DIRECTORY


def _taken(field_name, value, user):
    return User.objects.filter(**{field_name: value}).exclude(pk=user.pk).exists()


def follow_directory(*, person, user=None, mappings=None, actor=None, reason=""):
    """Make `user` (or a new user) what the directory says of `person`: username, name, e-mail,
    work-app ids (when the directory has them), active or not (never reactivating a user an
    administrator suspended), and the roles, departments and unit their groups map to. One
    transaction, one audit entry when anything changed."""
    mappings = mappings or Mappings()
    grants = mappings.grants(person.group_dns)
    warnings = []
    with transaction.atomic():
        created = user is None
        if created:
            user = User(username=person.username, directory_id=person.directory_id, is_active=not person.disabled)
            if person.disabled:
                user.deactivated_by = User.DeactivatedBy.DIRECTORY
            user.set_unusable_password()
            user.save()
            before = {}
        else:
            user = User.objects.select_for_update().get(pk=user.pk)
            before = _user_state(user)
        if person.username and person.username != user.username:
            if User.objects.filter(username__iexact=person.username).exclude(pk=user.pk).exists():
                warnings.append(_("username %(name)s is taken by another account") % {"name": person.username})
            else:
                user.username = person.username
        user.directory_id = person.directory_id
        user.name = person.name[:60]
        user.email = person.email
        for field_name in ("wecom_userid", "dingtalk_userid"):
            value = getattr(person, field_name)[:64]
            if value and value != getattr(user, field_name):
                if _taken(field_name, value, user):
                    name = FIELD_NAMES[field_name]()
                    warnings.append(_("%(field)s %(value)s is another account's") % {"field": name, "value": value})
                else:
                    setattr(user, field_name, value)
        # The directory deactivates, and reactivates only whom it deactivated itself.
        if person.disabled and user.is_active:
            user.is_active, user.deactivated_by = False, User.DeactivatedBy.DIRECTORY
        elif not person.disabled and user.deactivated_by == User.DeactivatedBy.DIRECTORY:
            user.is_active, user.deactivated_by = True, User.DeactivatedBy.NOBODY
        if user.has_usable_password():
            user.set_unusable_password()
        user.unit_id = grants.unit_id
        user.save()
        held = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        user.groups.remove(*Group.objects.filter(name__in=held - grants.roles))
        user.groups.add(*(Group.objects.get_or_create(name=role)[0] for role in sorted(grants.roles - held)))
        user.departments.set(grants.department_ids)
        for cached in ("_lightboard_roles", "_lightboard_department_ids", "_lightboard_scope"):
            user.__dict__.pop(cached, None)
        after = _user_state(user)
        if created:
            record_audit(actor=actor, action=CREATE_USER, subject=user, after=after, reason=reason)
        else:
            before, after = changes(before, after)
            if after:
                action = DEACTIVATE_USER if after.get("is_active") is False else CHANGE_USER
                record_audit(actor=actor, action=action, subject=user, before=before, after=after, reason=reason)
    return Followed(user=user, created=created, before=before, after=after, warnings=warnings)


def refuse_disabled(*, person, actor=None):
    """The directory has disabled `person`: their lightboard user, if any, becomes inactive."""
    user = User.objects.filter(directory_id=person.directory_id).first() if person.directory_id else None
    if user is None or not user.is_active:
        return user
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False, deactivated_by=User.DeactivatedBy.DIRECTORY)
        user.is_active, user.deactivated_by = False, User.DeactivatedBy.DIRECTORY
        record_audit(
            actor=actor,
            action=DEACTIVATE_USER,
            subject=user,
            before={"is_active": True},
            after={"is_active": False},
            reason=_("disabled in the directory"),
        )
    return user


# --- the sync -------------------------------------------------------------------------------

FIELD_NAMES = {
    "username": lambda: _("username"),
    "name": lambda: _("name"),
    "email": lambda: _("e-mail"),
    "wecom_userid": lambda: _("WeCom user id"),
    "dingtalk_userid": lambda: _("DingTalk user id"),
    "is_active": lambda: _("active"),
    "roles": lambda: _("roles"),
    "departments": lambda: _("departments"),
    "unit": lambda: _("roles held for"),
    "code": lambda: _("short code"),
    "kind": lambda: _("kind"),
    "parent": lambda: _("belongs to"),
    "directory_id": lambda: _("directory id"),
}


def _value(key, value):
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key == "roles":
        return "、".join(str(Role(role).label) for role in value)
    if key == "kind":
        return str(Department.Kind(value).label)
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    return str(value)


def _described(before, after, *, skip=()):
    parts = []
    for key, value in after.items():
        if key in skip:
            continue
        name = FIELD_NAMES.get(key, lambda key=key: key)()
        if key == "directory_id" and not before.get(key):
            parts.append(_("linked to its directory entry"))
            continue
        if key not in before and value in ("", [], None):
            continue  # a new entry's empty fields go unsaid
        if key in before:
            parts.append(f"{name} {_value(key, before[key])} → {_value(key, value)}")
        else:
            parts.append(f"{name} {_value(key, value)}")
    return "; ".join(parts)


def _person_label(username, name):
    return _("user %(username)s (%(name)s)") % {"username": username, "name": name or "—"}


def _sync_people(people, mappings, actor):
    lines = []
    if not people and User.objects.exclude(directory_id="").filter(is_active=True).exists():
        raise ValidationError(
            _("The directory lists nobody under LDAP_USER_SEARCH_BASE with LDAP_USER_FILTER; nobody was deactivated.")
        )
    seen = {person.directory_id for person in people}
    for person in sorted(people, key=lambda p: p.username):
        user, problem = existing_user(person, present_ids=seen)
        if suspended_here(user):
            problem = _("deactivated in lightboard by an administrator; left alone")
        if problem:
            lines.append(Line("!", f"{_person_label(person.username, person.name)}: {problem}"))
            continue
        if user is None and person.disabled:
            continue  # nobody to create for an account the directory has disabled
        followed = follow_directory(person=person, user=user, mappings=mappings, actor=actor, reason=REASON())
        label = _person_label(followed.user.username, followed.user.name)
        if followed.created:
            detail = _described({}, followed.after, skip={"directory_id", "username", "name", "email", "is_active"})
            lines.append(Line("+", f"{label}: {detail}" if detail else label))
        elif followed.after.get("is_active") is False:
            detail = _described(followed.before, followed.after, skip={"is_active"})
            text = _("%(user)s: deactivated (disabled in the directory)") % {"user": label}
            lines.append(Line("-", f"{text}; {detail}" if detail else text))
        elif followed.after:
            lines.append(Line("~", f"{label}: {_described(followed.before, followed.after)}"))
        lines.extend(Line("!", f"{label}: {warning}") for warning in followed.warnings)
    for user in User.objects.exclude(directory_id="").filter(is_active=True).order_by("username"):
        if user.directory_id in seen:
            continue
        _deactivate_as_gone(user, action=DEACTIVATE_USER, actor=actor, deactivated_by=User.DeactivatedBy.DIRECTORY)
        label = _person_label(user.username, user.name)
        lines.append(Line("-", _("%(user)s: deactivated (no longer in the directory)") % {"user": label}))
    return lines


def _deactivate_as_gone(subject, *, action, actor, **fields):
    """A user or unit no longer in the directory: inactive (never deleted), and audited."""
    type(subject).objects.filter(pk=subject.pk).update(is_active=False, **fields)
    record_audit(
        actor=actor,
        action=action,
        subject=subject,
        before={"is_active": True},
        after={"is_active": False},
        reason=_("no longer in the directory"),
    )


def _unit_state(department):
    return {
        "directory_id": department.directory_id,
        "code": department.code,
        "name": department.name,
        "kind": department.kind,
        "parent": department.parent.name if department.parent_id else "",
        "is_active": department.is_active,
    }


def _unit_label(code, name):
    return _("unit %(code)s %(name)s") % {"code": code, "name": name}


def _sync_units(units, actor):
    lines = []
    synced = {unit.directory_id: unit for unit in Department.objects.exclude(directory_id="").select_related("parent")}
    if not units and any(department.is_active for department in synced.values()):
        raise ValidationError(_("The directory lists no units under LDAP_UNIT_SEARCH_BASE; no unit was deactivated."))
    by_dn, seen = {}, set()
    for unit in units:
        seen.add(unit.directory_id)
        if not SHORT_CODE.match(unit.code):
            message = _(
                "unit %(name)s: its code %(code)s (LDAP_UNIT_CODE_ATTRIBUTE) is not a short code "
                "(letters, digits, - and _, up to 20); left alone"
            )
            lines.append(Line("!", message % {"name": unit.name, "code": unit.code or "—"}))
            continue
        department = synced.get(unit.directory_id) or Department.objects.filter(code=unit.code, directory_id="").first()
        others = Department.objects.exclude(pk=department.pk) if department else Department.objects.all()
        clash = others.filter(code=unit.code).first() or others.filter(name=unit.name).first()
        if clash is not None:
            message = _("%(unit)s: the code or name is already %(other)s's; left alone")
            lines.append(Line("!", message % {"unit": _unit_label(unit.code, unit.name), "other": clash.name}))
            if department is not None:
                by_dn[unit.dn] = department
            continue
        created = department is None
        before = {} if created else _unit_state(department)
        department = department or Department()
        department.directory_id = unit.directory_id
        department.code = unit.code
        department.name = unit.name[:100]
        department.kind = Department.Kind.SUBSIDIARY if unit.subsidiary else Department.Kind.DEPARTMENT
        department.parent = by_dn.get(unit.parent_dn)
        department.is_active = True
        department.save()
        by_dn[unit.dn] = department
        after = _unit_state(department)
        label = _unit_label(department.code, department.name)
        if created:
            record_audit(actor=actor, action=CREATE_UNIT, subject=department, after=after, reason=REASON())
            detail = _described({}, after, skip={"directory_id", "code", "name", "is_active"})
            lines.append(Line("+", f"{label}: {detail}"))
            continue
        before, after = changes(before, after)
        if after:
            record_audit(
                actor=actor, action=CHANGE_UNIT, subject=department, before=before, after=after, reason=REASON()
            )
            lines.append(Line("~", f"{label}: {_described(before, after)}"))
    for department in sorted(synced.values(), key=lambda d: d.code):
        if department.directory_id in seen or not department.is_active:
            continue
        _deactivate_as_gone(department, action=DEACTIVATE_UNIT, actor=actor)
        label = _unit_label(department.code, department.name)
        lines.append(Line("-", _("%(unit)s: deactivated (no longer in the directory)") % {"unit": label}))
    return lines


def sync_directory(*, people, units, apply, actor=None):
    """Bring users (and, given `units`, departments) in step with the directory. Without
    `apply` the same changes are worked out and rolled back: the lines say what would change.
    Raises ValidationError, changing nothing, when the directory's answer looks empty."""
    with transaction.atomic():
        lines = _sync_units(units, actor) if units is not None else []
        lines += _sync_people(people, Mappings(), actor)
        if not apply:
            transaction.set_rollback(True)
    return lines
