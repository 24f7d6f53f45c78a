"""A real OpenLDAP server for the directory tests: python-ldap's slapdtest starts Debian's slapd
as an unprivileged process on a loopback port, with a generated configuration, once per test
session; each test gets the same small organisation loaded afresh.

Without slapd or python-ldap the tests are skipped, or, with LIGHTBOARD_REQUIRE_SERVICES=1 as
in CI, they fail. Imported explicitly by the tests that need it."""

import os
import tempfile

import pytest

from lightboard.roles import Role

SUFFIX = "dc=example,dc=cn"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
UNITS = f"ou=units,{SUFFIX}"
STAFF_GROUP = f"cn=lb-staff,{GROUPS}"
LEADER_GROUP = f"cn=lb-leaders,{GROUPS}"
INSPECTOR_GROUP = f"cn=lb-inspectors,{GROUPS}"
PRODUCTION_GROUP = f"cn=lb-production,{GROUPS}"
DISABLED_GROUP = f"cn=disabled,{GROUPS}"

# groupOfNames needs a member: every group has this one, who is nobody (there is no such entry).
NOBODY = "placeholder"

# username: (name, password, extra attributes)
PEOPLE_ENTRIES = {
    "zhangsan": ("张三", "zs-secret", {"employeeNumber": "ZS001", "carLicense": "dt-zhangsan"}),
    "lisi": ("李四", "ls-secret", {}),
    "wangwu": ("王五", "ww-secret", {}),
    "zhaoliu": ("赵六", "zl-secret", {"employeeType": "left"}),
    # The same username as a local account: the directory must not take it over.
    "admin": ("目录管理员", "directory-admin", {}),
}
GROUP_MEMBERS = {
    STAFF_GROUP: ["zhangsan", "wangwu", "zhaoliu"],
    LEADER_GROUP: ["lisi"],
    INSPECTOR_GROUP: ["admin"],
    PRODUCTION_GROUP: ["zhangsan", "wangwu"],
    DISABLED_GROUP: [],
}
# (ou = short code, description = name, businessCategory, parent ou or None)
UNIT_ENTRIES = [
    ("SCYY", "生产运营部", "department", None),
    ("CW", "财务部", "department", None),
    ("HD", "华东子公司", "subsidiary", None),
    ("HDSC", "华东生产部", "department", "HD"),
]


def person_dn(username):
    return f"uid={username},{PEOPLE}"


def unit_dn(code, parent=None):
    return f"ou={code},{'ou=' + parent + ',' if parent else ''}{UNITS}"


def _require(reason):
    if os.environ.get("LIGHTBOARD_REQUIRE_SERVICES") == "1":
        pytest.fail(f"LIGHTBOARD_REQUIRE_SERVICES=1 but the directory tests {reason}", pytrace=False)
    pytest.skip(f"the directory tests {reason}")


class Directory:
    """The running slapd, and a python-ldap connection as its manager to change its entries."""

    def __init__(self, server):
        import ldap

        self.ldap = ldap
        self.server = server
        self.uri = server.ldap_uri
        self.conn = ldap.initialize(self.uri)
        self.conn.simple_bind_s(server.root_dn, server.root_pw)

    def add(self, dn, **attrs):
        encoded = [
            (name, [v.encode() for v in (value if isinstance(value, list) else [value])])
            for name, value in attrs.items()
        ]
        self.conn.add_s(dn, encoded)

    def delete(self, dn):
        self.conn.delete_s(dn)

    def modify(self, dn, *changes):
        """changes: (op, attribute, values) with op "add", "delete" or "replace"."""
        ops = {"add": self.ldap.MOD_ADD, "delete": self.ldap.MOD_DELETE, "replace": self.ldap.MOD_REPLACE}
        self.conn.modify_s(dn, [(ops[op], name, [v.encode() for v in values]) for op, name, values in changes])

    def rename(self, username, new_username):
        """The entry of `username` renamed (its id stays): its uid becomes `new_username`."""
        self.conn.rename_s(person_dn(username), f"uid={new_username}", delold=1)

    def add_member(self, group, username):
        self.modify(group, ("add", "member", [person_dn(username)]))

    def remove_member(self, group, username):
        self.modify(group, ("delete", "member", [person_dn(username)]))

    def entry_uuid(self, dn):
        return self.conn.search_s(dn, self.ldap.SCOPE_BASE, attrlist=["entryUUID"])[0][1]["entryUUID"][0].decode()

    def reset(self):
        """Empty the tree below the suffix and load the organisation again."""
        found = self.conn.search_s(SUFFIX, self.ldap.SCOPE_SUBTREE, "(objectClass=*)", ["1.1"])
        for dn, _attrs in sorted(found, key=lambda item: -item[0].count(",")):
            if dn.lower() != SUFFIX:
                self.conn.delete_s(dn)
        for ou in ("people", "groups", "units"):
            self.add(f"ou={ou},{SUFFIX}", objectClass="organizationalUnit", ou=ou)
        for username, (name, password, extra) in PEOPLE_ENTRIES.items():
            self.add(
                person_dn(username),
                objectClass="inetOrgPerson",
                uid=username,
                cn=name,
                sn=name[0],
                mail=f"{username}@example.cn",
                userPassword=password,
                **extra,
            )
        for group, members in GROUP_MEMBERS.items():
            self.add(
                group,
                objectClass="groupOfNames",
                cn=group.split(",")[0][3:],
                member=[person_dn(m) for m in [*members, NOBODY]],
            )
        for code, name, kind, parent in UNIT_ENTRIES:
            self.add(
                unit_dn(code, parent),
                objectClass="organizationalUnit",
                ou=code,
                description=name,
                businessCategory=kind,
            )


@pytest.fixture(scope="session")
def slapd():
    try:
        import django_auth_ldap  # noqa: F401
        import ldap  # noqa: F401
        from slapdtest import SlapdObject
    except ImportError as error:
        _require(f"need python-ldap and django-auth-ldap (the `directory` extra): {error}")

    class Server(SlapdObject):
        suffix = SUFFIX
        root_cn = "Manager"
        root_pw = "manager-secret"
        slapd_loglevel = "0"
        openldap_schema_files = ("core.ldif", "cosine.ldif", "inetorgperson.ldif")
        TMPDIR = tempfile.gettempdir()

    try:
        server = Server()
        server.start()
    except (ValueError, RuntimeError, OSError) as error:
        _require(f"need OpenLDAP's slapd (apt-get install slapd ldap-utils): {error}")
    try:
        server.ldapadd(f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: 示例集团\n")
        yield Directory(server)
    finally:
        server.stop()


@pytest.fixture
def directory(slapd, settings):
    """The organisation loaded afresh, and lightboard configured to sign in and sync against it."""
    slapd.reset()
    settings.LDAP_SERVER_URI = slapd.uri
    settings.LDAP_BIND_DN = slapd.server.root_dn
    settings.LDAP_BIND_PASSWORD = slapd.server.root_pw
    settings.LDAP_START_TLS = False
    settings.LDAP_USER_SEARCH_BASE = PEOPLE
    settings.LDAP_USER_FILTER = "(&(objectClass=inetOrgPerson)(uid=%(user)s))"
    settings.LDAP_USERNAME_ATTRIBUTE = "uid"
    settings.LDAP_ID_ATTRIBUTE = "entryUUID"
    settings.LDAP_NAME_ATTRIBUTE = "cn"
    settings.LDAP_EMAIL_ATTRIBUTE = "mail"
    settings.LDAP_WECOM_ATTRIBUTE = "employeeNumber"
    settings.LDAP_DINGTALK_ATTRIBUTE = "carLicense"
    settings.LDAP_GROUP_SEARCH_BASE = GROUPS
    settings.LDAP_GROUP_TYPE = "groupOfNames"
    settings.LDAP_DISABLED_GROUP = DISABLED_GROUP
    settings.LDAP_DISABLED_FILTER = "(employeeType=left)"
    settings.LDAP_UNIT_SEARCH_BASE = UNITS
    settings.LDAP_UNIT_FILTER = "(objectClass=organizationalUnit)"
    settings.LDAP_UNIT_CODE_ATTRIBUTE = "ou"
    settings.LDAP_UNIT_NAME_ATTRIBUTE = "description"
    settings.LDAP_UNIT_KIND_ATTRIBUTE = "businessCategory"
    backends = [b for b in settings.AUTHENTICATION_BACKENDS if b != "directory.backends.DirectoryBackend"]
    backends.insert(backends.index("tasks.backends.ModelBackend") + 1, "directory.backends.DirectoryBackend")
    settings.AUTHENTICATION_BACKENDS = backends
    return slapd


def map_groups(department=None):
    """The administrators' mappings for the test organisation's groups."""
    from directory.models import DirectoryGroupMapping

    DirectoryGroupMapping.objects.create(group_dn=STAFF_GROUP, role=Role.STAFF)
    DirectoryGroupMapping.objects.create(group_dn=LEADER_GROUP.upper(), role=Role.DIVISION_LEADER)
    DirectoryGroupMapping.objects.create(group_dn=INSPECTOR_GROUP, role=Role.INSPECTOR)
    if department is not None:
        DirectoryGroupMapping.objects.create(group_dn=PRODUCTION_GROUP, department=department)
