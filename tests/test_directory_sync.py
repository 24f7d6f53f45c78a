"""`manage.py sync_directory` against a real OpenLDAP server (tests/ldap_fixtures.py): a dry run
by default that prints the plan and changes nothing; --apply writes it with audit entries; a
second run finds nothing to do; what leaves the directory is deactivated, never deleted."""

import io

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse

from directory.tasks import LOCK, sync_directory
from lightboard.roles import Role, roles_of
from tasks.models import AuditEntry, Department, User
from tests.conftest import make_user
from tests.ldap_fixtures import (  # noqa: F401 - fixtures
    INSPECTOR_GROUP,
    LEADER_GROUP,
    PEOPLE,
    directory,
    map_groups,
    person_dn,
    slapd,
    unit_dn,
)

pytestmark = pytest.mark.django_db


def sync(*args):
    out = io.StringIO()
    call_command("sync_directory", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def mapped(directory, settings):  # noqa: F811
    settings.LANGUAGE_CODE = "en"  # the plan's words in English; the names are the directory's
    # The department the production group maps to, set up here before the directory had units.
    map_groups(department=Department.objects.create(code="SCYY", name="生产运营部"))
    return directory


def test_a_dry_run_prints_the_plan_and_changes_nothing(mapped):
    users, units, audit = User.objects.count(), Department.objects.count(), AuditEntry.objects.count()

    lines = sync()

    zhangsan = "+ user zhangsan (张三): WeCom user id ZS001; DingTalk user id dt-zhangsan; roles Department staff; "
    assert zhangsan + "departments 生产运营部" in lines
    assert "+ user lisi (李四): roles Division leader" in lines
    assert "+ unit HD 华东子公司: kind Subsidiary" in lines
    assert "+ unit HDSC 华东生产部: kind Department; belongs to 华东子公司" in lines
    # The local department of the same code is taken up by the directory's unit.
    assert "~ unit SCYY 生产运营部: linked to its directory entry" in lines
    # Disabled accounts are not created; a local account's username is left to it.
    assert not any("zhaoliu" in line for line in lines)
    assert lines[-1] == "Dry run: 8 changes, nothing written. Run again with --apply to write them."
    assert (User.objects.count(), Department.objects.count(), AuditEntry.objects.count()) == (users, units, audit)


def test_apply_creates_and_a_second_apply_changes_nothing(mapped):
    make_user("admin", Role.ADMINISTRATOR)

    lines = sync("--apply")

    assert lines[-1] == "Applied 7 changes."
    assert "! user admin (目录管理员): a local account has this username; left alone" in lines
    zhangsan = User.objects.get(username="zhangsan")
    assert zhangsan.directory_id == mapped.entry_uuid(person_dn("zhangsan"))
    assert (zhangsan.name, zhangsan.wecom_userid, zhangsan.dingtalk_userid) == ("张三", "ZS001", "dt-zhangsan")
    assert roles_of(zhangsan) == {Role.STAFF} and not zhangsan.has_usable_password()
    assert Department.objects.get(code="SCYY").directory_id == mapped.entry_uuid(unit_dn("SCYY"))
    east = Department.objects.get(code="HD")
    assert east.kind == Department.Kind.SUBSIDIARY and east.directory_id == mapped.entry_uuid(unit_dn("HD"))
    assert Department.objects.get(code="HDSC").parent == east
    assert User.objects.get(username="admin").directory_id == ""
    assert AuditEntry.objects.filter(action="directory: create user", subject_id=zhangsan.pk).exists()
    assert AuditEntry.objects.filter(action="directory: create unit").count() == 3

    audit = AuditEntry.objects.count()
    assert sync("--apply") == ["! user admin (目录管理员): a local account has this username; left alone",
                               "Nothing to change: lightboard agrees with the directory."]  # fmt: skip
    assert AuditEntry.objects.count() == audit


def test_who_leaves_the_directory_is_deactivated_not_deleted(mapped):
    sync("--apply")
    mapped.delete(person_dn("wangwu"))
    mapped.delete(unit_dn("HDSC", "HD"))

    lines = sync("--apply")

    assert "- user wangwu (王五): deactivated (no longer in the directory)" in lines
    assert "- unit HDSC 华东生产部: deactivated (no longer in the directory)" in lines
    wangwu = User.objects.get(username="wangwu")
    assert not wangwu.is_active and wangwu.deactivated_by == User.DeactivatedBy.DIRECTORY
    assert not Department.objects.get(code="HDSC").is_active
    # A disabled account is deactivated too.
    mapped.modify(person_dn("lisi"), ("add", "employeeType", ["left"]))
    assert "- user lisi (李四): deactivated (disabled in the directory)" in sync("--apply")
    lisi = User.objects.get(username="lisi")
    assert not lisi.is_active and lisi.deactivated_by == User.DeactivatedBy.DIRECTORY
    # Enabled again: the directory undoes its own deactivation.
    mapped.modify(person_dn("lisi"), ("delete", "employeeType", ["left"]))
    assert "~ user lisi (李四): active no → yes" in sync("--apply")
    lisi.refresh_from_db()
    assert lisi.is_active and lisi.deactivated_by == ""


def test_the_sync_leaves_an_administrators_deactivation_alone(mapped):
    sync("--apply")
    # An administrator suspended 李四 in lightboard (the admin's "active" box, see
    # test_directory_ldap); the directory still has him, enabled.
    User.objects.filter(username="lisi").update(is_active=False, deactivated_by=User.DeactivatedBy.ADMINISTRATOR)
    mapped.remove_member(LEADER_GROUP, "lisi")
    audit = AuditEntry.objects.count()

    lines = sync("--apply")

    assert lines == ["! user lisi (李四): deactivated in lightboard by an administrator; left alone",
                     "Nothing to change: lightboard agrees with the directory."]  # fmt: skip
    lisi = User.objects.get(username="lisi")
    assert not lisi.is_active and lisi.deactivated_by == User.DeactivatedBy.ADMINISTRATOR
    assert roles_of(lisi) == {Role.DIVISION_LEADER}  # changed nothing for him
    assert AuditEntry.objects.count() == audit
    # Nor does the Celery task.
    sync_directory()
    assert not User.objects.get(username="lisi").is_active


def test_a_group_change_changes_the_roles(mapped):
    sync("--apply")
    mapped.remove_member(LEADER_GROUP, "lisi")
    mapped.add_member(INSPECTOR_GROUP, "lisi")

    lines = sync("--apply")

    assert "~ user lisi (李四): roles Division leader → Discipline inspector" in lines
    assert roles_of(User.objects.get(username="lisi")) == {Role.INSPECTOR}


def test_the_celery_task_applies_the_sync(mapped):
    assert sync_directory() == 8
    assert User.objects.filter(username="zhangsan", is_active=True).exists()


def test_an_empty_answer_deactivates_nobody(mapped, settings):
    sync("--apply")
    settings.LDAP_USER_FILTER = "(&(objectClass=inetOrgPerson)(uid=%(user)s)(description=nobody-has-this))"
    with pytest.raises(CommandError, match="nobody was deactivated"):
        sync("--apply")
    assert User.objects.filter(directory_id__gt="", is_active=True).count() == 4


def test_an_unreachable_directory_is_a_clear_error(mapped, settings):
    settings.LDAP_SERVER_URI = "ldap://127.0.0.1:1"
    settings.LDAP_TIMEOUT = 1
    with pytest.raises(CommandError, match="could not be read"):
        sync()
    settings.LDAP_USER_SEARCH_BASE = "ou=nowhere," + PEOPLE
    settings.LDAP_SERVER_URI = mapped.uri
    with pytest.raises(CommandError, match="no such entry"):
        sync()


# --- a unit no longer in the organisation -------------------------------------------------


def test_an_inactive_unit_is_marked_and_takes_no_new_work(client, year, staff_a, department_a):
    gone = Department.objects.create(code="OLD", name="旧部门", is_active=False)
    Department.objects.create(code="NEW", name="新部门")
    client.force_login(staff_a)

    form = client.get(reverse("tasks:create", args=[year.year, department_a.code])).context["form"]
    offered = {d.code for d in form.fields["cooperating"].queryset}
    assert "NEW" in offered and "OLD" not in offered

    staff_a.departments.add(gone)
    page = client.get(reverse("tasks:list", args=[year.year, "OLD"]))
    assert 'class="state-badge inactive"' in page.content.decode()
    assert reverse("tasks:create", args=[year.year, "OLD"]) not in page.content.decode()
    response = client.post(reverse("tasks:create", args=[year.year, "OLD"]), {"title": "新任务"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("tasks:list", args=[year.year, "OLD"])
    assert not gone.tasks.exists()


def test_a_re_created_entry_keeps_its_user_once_the_sync_finds_the_old_entry_gone(client, mapped):
    sync("--apply")
    zhangsan = User.objects.get(username="zhangsan")
    mapped.delete(person_dn("zhangsan"))
    mapped.add(
        person_dn("zhangsan"), objectClass="inetOrgPerson", uid="zhangsan", cn="张三", sn="张", userPassword="zs-new"
    )
    new_id = mapped.entry_uuid(person_dn("zhangsan"))
    login = reverse("login")

    # A sign-in cannot tell a re-created entry from a newcomer given a leaver's username: refused.
    client.post(login, {"username": "zhangsan", "password": "zs-new"}, REMOTE_ADDR="10.0.0.1")
    assert not client.session.get("_auth_user_id")

    lines = sync("--apply")

    # The same person (the groups name the same DN): roles kept, the directory id follows.
    changed = f"~ user zhangsan (张三): directory id {zhangsan.directory_id} → {new_id}; e-mail zhangsan@example.cn → —"
    assert changed in lines
    zhangsan.refresh_from_db()
    assert zhangsan.directory_id == new_id and zhangsan.is_active and roles_of(zhangsan) == {Role.STAFF}
    client.post(login, {"username": "zhangsan", "password": "zs-new"}, REMOTE_ADDR="10.0.0.1")
    assert client.session.get("_auth_user_id") == str(zhangsan.pk)


def test_a_new_entry_given_a_present_users_username_is_left_alone(mapped):
    sync("--apply")
    lisi = User.objects.get(username="lisi")
    old_id = lisi.directory_id
    # 李四's entry is renamed (it stays in the directory); a different person is given "lisi".
    mapped.rename("lisi", "lisi2")
    mapped.add(person_dn("lisi"), objectClass="inetOrgPerson", uid="lisi", cn="李思", sn="李")

    lines = sync("--apply")

    assert "! user lisi (李思): another directory entry has this username; left alone" in lines
    # His user follows his entry (the leaders' group still names uid=lisi, the newcomer, now).
    assert "~ user lisi2 (李四): username lisi → lisi2; roles Division leader → —" in lines
    lisi.refresh_from_db()
    assert (lisi.username, lisi.name, lisi.directory_id) == ("lisi2", "李四", old_id)
    # The username is free now: the next sync creates the newcomer's own user.
    assert any(line.startswith("+ user lisi (李思)") for line in sync("--apply"))
    assert User.objects.get(username="lisi").directory_id == mapped.entry_uuid(person_dn("lisi"))


def test_overlapping_syncs_run_one_at_a_time(mapped, monkeypatch, caplog):
    from directory import reader

    read_directory = reader.read_directory
    overlapping = []

    def slow_read():
        # Beat fires again while this run is still reading the directory, and an administrator
        # runs the command by hand: the second run skips, the command's --apply is refused.
        overlapping.append(sync_directory())
        with pytest.raises(CommandError, match="nothing changed"):
            call_command("sync_directory", "--apply", stdout=io.StringIO())
        return read_directory()

    monkeypatch.setattr(reader, "read_directory", slow_read)
    assert sync_directory() == 8
    assert overlapping == [0]
    assert "directory sync: another run is still going; skipped" in caplog.messages
    # The lock goes with the run, even one that fails.
    monkeypatch.setattr(reader, "read_directory", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        sync_directory()
    assert cache.get(LOCK) is None
    monkeypatch.setattr(reader, "read_directory", read_directory)
    assert sync_directory() == 0  # ran (and found nothing to change)
    assert caplog.messages.count("directory sync: another run is still going; skipped") == 1


def test_a_run_that_outlasted_its_lock_leaves_the_next_runs_lock_alone(mapped, monkeypatch):
    from directory import reader

    read_directory = reader.read_directory

    def long_read():
        # A run by hand outlasts its lock (it expires); beat's next run takes the lock.
        cache.delete(LOCK)
        assert cache.add(LOCK, "beat's run")
        return read_directory()

    monkeypatch.setattr(reader, "read_directory", long_read)
    sync("--apply")

    assert cache.get(LOCK) == "beat's run"  # still held for the run that is going
    cache.delete(LOCK)


def test_a_dry_run_takes_no_lock(mapped, monkeypatch):
    from directory import reader

    read_directory = reader.read_directory
    held = []

    def read():
        held.append(cache.get(LOCK))
        return read_directory()

    monkeypatch.setattr(reader, "read_directory", read)
    sync()
    assert held == [None]  # beat's run, firing now, would run
    # ...nor waits for one: a dry run while beat's run holds the lock prints its plan.
    cache.add(LOCK, "beat's run")
    try:
        assert sync()[-1].startswith("Dry run: 8 changes")
    finally:
        cache.delete(LOCK)


# --- a leaver's username given to a newcomer ------------------------------------------------


def test_a_leavers_account_is_not_handed_to_a_newcomer_given_their_username(mapped):
    sync("--apply")
    zhangsan = User.objects.get(username="zhangsan")
    # 张三 leaves: his entry is deleted, and the sync deactivates his user...
    mapped.delete(person_dn("zhangsan"))
    sync("--apply")
    # ...months later a newcomer, 张珊, is given the username.
    mapped.add(person_dn("zhangsan"), objectClass="inetOrgPerson", uid="zhangsan", cn="张珊", sn="张")

    lines = sync("--apply")

    assert "! user zhangsan (张珊): the username is a former member's account; left for an administrator" in lines
    zhangsan.refresh_from_db()
    assert not zhangsan.is_active and zhangsan.deactivated_by == User.DeactivatedBy.DIRECTORY
    assert (zhangsan.name, zhangsan.wecom_userid, zhangsan.dingtalk_userid) == ("张三", "ZS001", "dt-zhangsan")
    assert zhangsan.directory_id != mapped.entry_uuid(person_dn("zhangsan"))
    assert not User.objects.filter(directory_id=mapped.entry_uuid(person_dn("zhangsan"))).exists()

    # An administrator renames the former member's account: the next sync creates the newcomer's.
    User.objects.filter(pk=zhangsan.pk).update(username="zhangsan-left")
    assert any(line.startswith("+ user zhangsan (张珊)") for line in sync("--apply"))
    newcomer = User.objects.get(username="zhangsan")
    assert newcomer.pk != zhangsan.pk and newcomer.is_active and newcomer.wecom_userid == ""


# --- who deactivated the users inactive before lightboard recorded it -------------------------


def test_the_migration_names_an_administrators_later_deactivation_from_the_admins_history(administrator):
    """Migration 0017: the directory deactivated a user, an administrator ticked "active" again
    in the admin and later unticked it (LogEntry, not audited then): an administrator's."""
    import importlib
    import json

    from django.apps import apps
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    migration = importlib.import_module("tasks.migrations.0017_who_deactivated")
    now = timezone.now()
    user_type = ContentType.objects.get_for_model(User)

    def inactive(username, *, admin_changes=()):
        user = make_user(username, is_active=False, directory_id=f"entry-{username}")
        entry = AuditEntry.objects.create(
            action="directory: deactivate user", subject_type="user", subject_id=user.pk,
            before={"is_active": True}, after={"is_active": False},
        )  # fmt: skip
        AuditEntry.objects.filter(pk=entry.pk).update(at=now)
        for minutes, fields in admin_changes:
            LogEntry.objects.create(
                user=administrator, content_type=user_type, object_id=str(user.pk), object_repr=username,
                action_flag=CHANGE, change_message=json.dumps([{"changed": {"fields": fields}}]),
                action_time=now + timezone.timedelta(minutes=minutes),
            )  # fmt: skip
        return user

    again = inactive("again", admin_changes=[(5, ["Active"]), (10, ["Full name", "Active"])])
    before = inactive("before", admin_changes=[(-5, ["Active"])])  # an older admin change
    renamed = inactive("renamed", admin_changes=[(5, ["Full name"])])
    local = make_user("local", is_active=False)

    migration.record_who_deactivated(apps, None)

    users = User.objects.filter(pk__in=[again.pk, before.pk, renamed.pk, local.pk])
    by = dict(users.values_list("username", "deactivated_by"))
    assert by == {"again": "administrator", "before": "directory", "renamed": "directory", "local": "administrator"}
