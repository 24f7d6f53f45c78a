"""Each role sees only its own screens, lands on its main screen and gets 403 elsewhere."""

import re

import pytest
from django.urls import reverse

# Fixtures are looked up by name inside the tests, so the database is asked for up front.
pytestmark = pytest.mark.django_db

SCREENS = {
    "tasks:mine": "/tasks/mine/",
    "tasks:lists": "/tasks/lists/",
    "reviews:confirmations": "/reviews/confirmations/",
    "reviews:meetings": "/reviews/meetings/",
    "reviews:followups": "/reviews/followups/",
    "reports:overview": "/reports/",
    "inbox:index": "/inbox/",
    "admin:index": "/admin/",
}

# role fixture -> (main screen, every screen the role may open)
EXPECTED = {
    "staff_a": ("/tasks/mine/", {"/tasks/mine/", "/tasks/lists/", "/inbox/"}),
    "leader_a": (
        "/reviews/confirmations/",
        {"/reviews/confirmations/", "/tasks/lists/", "/reports/", "/inbox/", "/tasks/deputies/"},
    ),
    "leadership": (
        "/reviews/meetings/",
        {"/reviews/meetings/", "/tasks/changes/", "/reviews/accountability/", "/tasks/lists/", "/reports/", "/inbox/"},
    ),
    "inspector": (
        "/reviews/followups/",
        {
            "/reviews/followups/",
            "/reviews/accountability/",
            "/tasks/lists/",
            "/reports/",
            "/inbox/",
            "/tasks/deputies/",
        },
    ),
    "administrator": ("/admin/", {"/admin/", "/inbox/"}),
}


def nav_links(html):
    nav = re.search(r'<nav class="site-nav".*?</nav>', html, re.S)
    return set(re.findall(r'href="([^"]+)"', nav.group(0))) if nav else set()


def test_stable_addresses_match_the_design():
    for url_name, path in SCREENS.items():
        assert reverse(url_name) == path


@pytest.mark.parametrize("role", EXPECTED)
def test_each_role_lands_on_its_main_screen(client, request, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == EXPECTED[role][0]


@pytest.mark.parametrize("role", EXPECTED)
def test_each_role_sees_only_its_own_menu_entries(client, request, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get("/inbox/")
    assert response.status_code == 200
    assert nav_links(response.content.decode()) == EXPECTED[role][1]


@pytest.mark.parametrize("role", EXPECTED)
def test_each_role_gets_403_on_other_roles_screens(client, request, role, year):
    client.force_login(request.getfixturevalue(role))
    allowed = EXPECTED[role][1]
    for path in SCREENS.values():
        response = client.get(path)
        if path == "/tasks/lists/" and role == "staff_a":
            # Staff go straight to their own department's list.
            assert response.status_code == 302 and response.url == "/tasks/lists/2026/A/"
        elif path in allowed:
            assert response.status_code == 200, path
        elif path == "/admin/":
            # The admin site sends users without admin rights to its own login page.
            assert response.status_code == 302 and "/admin/login/" in response.url
        else:
            assert response.status_code == 403, path
            assert "Nothing was changed" in response.content.decode() or "未作任何更改" in response.content.decode()


def test_a_user_with_several_roles_sees_all_their_screens(client, leader_a, staff_a):
    from django.contrib.auth.models import Group

    staff_a.groups.add(Group.objects.get(name="division_leader"))
    client.force_login(staff_a)
    links = nav_links(client.get("/inbox/").content.decode())
    assert {"/tasks/mine/", "/reviews/confirmations/", "/reports/"} <= links
    assert "/reviews/meetings/" not in links


@pytest.mark.parametrize("path", ["/", *SCREENS.values()])
def test_anonymous_users_are_sent_to_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/") or response.url.startswith("/admin/login/")


def test_a_user_without_a_role_is_told_so(client, no_role):
    client.force_login(no_role)
    response = client.get("/")
    assert response.status_code == 403
    assert "管理员" in response.content.decode()


def test_the_administrator_role_alone_opens_the_admin_and_sets_up_departments(client, db):
    from lightboard.roles import Role
    from tasks.models import Department
    from tests.conftest import make_user

    administrator = make_user("office_admin", Role.ADMINISTRATOR)
    assert not administrator.is_staff and not administrator.is_superuser
    client.force_login(administrator)
    assert client.get("/admin/").status_code == 200
    response = client.post("/admin/tasks/department/add/", {"code": "NEW", "name": "新部门", "kind": "department"})
    assert response.status_code == 302
    assert Department.objects.filter(code="NEW").exists()


def test_staff_cannot_open_the_admin_even_by_typing_its_address(client, staff_a):
    client.force_login(staff_a)
    response = client.get("/admin/tasks/department/")
    assert response.status_code == 302 and "/admin/login/" in response.url
