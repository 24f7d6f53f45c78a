"""Reading the directory (LDAP / Active Directory) with python-ldap: the service account's
connection, and what lightboard needs of people, groups and organisational units.

Imported only when directory sign-in or sync is in use: python-ldap is an optional extra."""

import logging
import uuid

import ldap
from django.conf import settings
from ldap.controls import SimplePagedResultsControl

from .models import normal_dn
from .services import Person, Unit

logger = logging.getLogger(__name__)

PAGE_SIZE = 500

# Each group type: the object class of its groups and the attribute listing their members
# (DNs, or usernames for posixGroup).
GROUP_KINDS = {
    "groupOfNames": ("groupOfNames", "member"),
    "groupOfUniqueNames": ("groupOfUniqueNames", "uniqueMember"),
    "posixGroup": ("posixGroup", "memberUid"),
    "activeDirectory": ("group", "member"),
}


class DirectoryUnavailable(Exception):
    """The directory could not be read; nothing was changed."""


def connection_options():
    options = {
        ldap.OPT_PROTOCOL_VERSION: 3,
        ldap.OPT_NETWORK_TIMEOUT: settings.LDAP_TIMEOUT,
        ldap.OPT_TIMEOUT: settings.LDAP_TIMEOUT,
        # Active Directory answers with referrals that python-ldap would chase anonymously.
        ldap.OPT_REFERRALS: 0,
    }
    if settings.LDAP_CA_CERT_FILE:
        options[ldap.OPT_X_TLS_CACERTFILE] = settings.LDAP_CA_CERT_FILE
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # last: applies the TLS options above
    return options


def person_attributes():
    """What is read of a person: the ordinary attributes, and the id (entryUUID is operational)."""
    return ["*", settings.LDAP_ID_ATTRIBUTE]


def group_filter():
    return f"(objectClass={GROUP_KINDS[settings.LDAP_GROUP_TYPE][0]})"


def connect():
    """A connection bound as the service account (LDAP_BIND_DN), or anonymously without one."""
    try:
        conn = ldap.initialize(settings.LDAP_SERVER_URI)
        for option, value in connection_options().items():
            conn.set_option(option, value)
        if settings.LDAP_START_TLS:
            conn.start_tls_s()
        conn.simple_bind_s(settings.LDAP_BIND_DN, settings.LDAP_BIND_PASSWORD)
    except ldap.LDAPError as error:
        raise DirectoryUnavailable(_describe(error)) from error
    return conn


def _describe(error):
    info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    return " ".join(str(part) for part in (info.get("desc", ""), info.get("info", "")) if part) or repr(error)


def search(conn, base, filterstr, attributes):
    """Every entry under `base` matching `filterstr`, a page at a time (Active Directory hands out
    at most 1000 entries per answer), as (dn, {attribute in lower case: [values]})."""
    control = SimplePagedResultsControl(True, size=PAGE_SIZE, cookie="")
    found = []
    try:
        while True:
            msgid = conn.search_ext(base, ldap.SCOPE_SUBTREE, filterstr, attributes, serverctrls=[control])
            _type, entries, _msgid, controls = conn.result3(msgid)
            found.extend((dn, {name.lower(): values for name, values in attrs.items()}) for dn, attrs in entries if dn)
            pages = [c for c in controls if c.controlType == SimplePagedResultsControl.controlType]
            if not pages or not pages[0].cookie:
                return found
            control.cookie = pages[0].cookie
    except ldap.NO_SUCH_OBJECT:
        raise DirectoryUnavailable(f"{base}: no such entry in the directory") from None
    except ldap.LDAPError as error:
        raise DirectoryUnavailable(_describe(error)) from error


def matches(conn, dn, filterstr):
    """The entry at `dn` matches the filter (asked of the server, which knows its matching rules)."""
    if not filterstr:
        return False
    try:
        return bool(conn.search_s(dn, ldap.SCOPE_BASE, filterstr, ["1.1"]))
    except ldap.NO_SUCH_OBJECT:
        return False


# --- values ---------------------------------------------------------------------------------


def _first(attrs, name):
    if not name:
        return ""
    values = attrs.get(name.lower()) or attrs.get(name) or []
    if not values:
        return ""
    value = values[0]
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)).strip()


def directory_id(attrs):
    """The entry's stable id: entryUUID as it is, Active Directory's binary objectGUID as a UUID."""
    name = settings.LDAP_ID_ATTRIBUTE
    values = attrs.get(name.lower()) or attrs.get(name) or []
    if not values:
        return ""
    value = values[0]
    if name.lower() == "objectguid":
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        if len(raw) == 16:
            return str(uuid.UUID(bytes_le=raw))
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def make_person(dn, attrs, *, group_dns, disabled):
    return Person(
        directory_id=directory_id(attrs),
        dn=dn,
        username=_first(attrs, settings.LDAP_USERNAME_ATTRIBUTE).lower(),
        name=_first(attrs, settings.LDAP_NAME_ATTRIBUTE),
        email=_first(attrs, settings.LDAP_EMAIL_ATTRIBUTE),
        wecom_userid=_first(attrs, settings.LDAP_WECOM_ATTRIBUTE),
        dingtalk_userid=_first(attrs, settings.LDAP_DINGTALK_ATTRIBUTE),
        group_dns=frozenset(group_dns),
        disabled=disabled,
    )


def person_at_sign_in(ldap_user):
    """The person django-auth-ldap found for a sign-in (its `ldap_user`), with their groups and
    whether the directory has disabled them, read with the service account."""
    group_dns = {normal_dn(dn) for dn in ldap_user.group_dns} if settings.LDAP_GROUP_SEARCH_BASE else set()
    disabled = (bool(settings.LDAP_DISABLED_GROUP) and normal_dn(settings.LDAP_DISABLED_GROUP) in group_dns) or matches(
        ldap_user.connection, ldap_user.dn, settings.LDAP_DISABLED_FILTER
    )
    return make_person(ldap_user.dn, ldap_user.attrs, group_dns=group_dns, disabled=disabled)


# --- the whole directory, for the sync ------------------------------------------------------


def _memberships(conn):
    """{member (normal DN, or username for posixGroup): {group DNs}}."""
    if not settings.LDAP_GROUP_SEARCH_BASE:
        return {}
    member_attribute = GROUP_KINDS[settings.LDAP_GROUP_TYPE][1].lower()
    by_member = {}
    for dn, attrs in search(conn, settings.LDAP_GROUP_SEARCH_BASE, group_filter(), [member_attribute]):
        for value in attrs.get(member_attribute, []):
            member = value.decode("utf-8", "replace")
            if settings.LDAP_GROUP_TYPE == "posixGroup":
                member = member.strip().lower()
            else:
                # uniqueMember may carry an optional #UID suffix.
                member = normal_dn(member.split("#", 1)[0] if member.endswith("'B") else member)
            by_member.setdefault(member, set()).add(normal_dn(dn))
    return by_member


def read_people(conn):
    everyone = settings.LDAP_USER_FILTER % {"user": "*"}
    disabled = set()
    if settings.LDAP_DISABLED_FILTER:
        found = search(conn, settings.LDAP_USER_SEARCH_BASE, f"(&{everyone}{settings.LDAP_DISABLED_FILTER})", ["1.1"])
        disabled = {normal_dn(dn) for dn, _attrs in found}
    memberships = _memberships(conn)
    disabled_group = normal_dn(settings.LDAP_DISABLED_GROUP)
    people = []
    for dn, attrs in search(conn, settings.LDAP_USER_SEARCH_BASE, everyone, person_attributes()):
        key = _first(attrs, "uid").lower() if settings.LDAP_GROUP_TYPE == "posixGroup" else normal_dn(dn)
        groups = memberships.get(key, set())
        off = normal_dn(dn) in disabled or (bool(disabled_group) and disabled_group in groups)
        person = make_person(dn, attrs, group_dns=groups, disabled=off)
        if person.directory_id and person.username:
            people.append(person)
        else:
            logger.warning("directory entry %s has no id or no username; skipped", dn)
    return people


def read_units(conn):
    """The organisational units below LDAP_UNIT_SEARCH_BASE (the base itself is the group, not
    a unit), parents before children."""
    if not settings.LDAP_UNIT_SEARCH_BASE:
        return None
    base = normal_dn(settings.LDAP_UNIT_SEARCH_BASE)
    attributes = [
        "*",
        settings.LDAP_ID_ATTRIBUTE,
        settings.LDAP_UNIT_CODE_ATTRIBUTE,
        settings.LDAP_UNIT_NAME_ATTRIBUTE,
        settings.LDAP_UNIT_KIND_ATTRIBUTE,
    ]
    units = []
    for dn, attrs in search(conn, settings.LDAP_UNIT_SEARCH_BASE, settings.LDAP_UNIT_FILTER, attributes):
        normal = normal_dn(dn)
        if normal == base:
            continue
        parent = ldap.dn.dn2str(ldap.dn.str2dn(dn)[1:])
        code = _first(attrs, settings.LDAP_UNIT_CODE_ATTRIBUTE)
        units.append(
            Unit(
                directory_id=directory_id(attrs),
                dn=normal,
                parent_dn=None if normal_dn(parent) == base else normal_dn(parent),
                code=code,
                name=_first(attrs, settings.LDAP_UNIT_NAME_ATTRIBUTE) or code,
                subsidiary=_first(attrs, settings.LDAP_UNIT_KIND_ATTRIBUTE).lower() in SUBSIDIARY_WORDS,
            )
        )
    return sorted(units, key=lambda unit: unit.dn.count(","))


SUBSIDIARY_WORDS = {"subsidiary", "子公司"}


def read_directory():
    """(people, units or None when units are not synced) — the whole directory, read at once."""
    conn = connect()
    try:
        return read_people(conn), read_units(conn)
    finally:
        conn.unbind_s()
