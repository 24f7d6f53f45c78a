"""The JSON API for integrations (/api/v1/): tokens per integration account, the units an account
reads (each with everything below it; 404 outside, as on the pages), read-only tokens, pages,
the rate limit, and self-assessments written through the same service as the page, audited as
the integration's."""

import json
import re

import pytest
import schemathesis
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api import services as api_services
from api.models import IntegrationAccount, hash_token
from lightboard.roles import Role
from reviews.models import FollowUp
from tasks.models import AuditEntry, Department, KeyTask, SelfAssessment
from tasks.services import create_assessment_year
from tests.conftest import make_user
from tests.factories import KeyTaskFactory, make_list
from tests.reviews_fixtures import close, confirm, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db
API = "/api/v1"


def account(name, *, units=(), whole_group=False, access="read", active=True):
    """An integration account as the admin creates it; returns (account, its token)."""
    integration = IntegrationAccount.objects.create(name=name, access=access, whole_group=whole_group, is_active=active)
    integration.units.set(units)
    return integration, api_services.issue_token(integration=integration, by=None)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(year, department_a, department_b, staff_a, staff_b, leadership):
    """Two subsidiaries with their own review cycles: A belongs to S1, B to S2. Each has a task,
    a closed meeting at stage 4 with the task red, and so a follow-up case; the group holds a
    meeting of its own for stage 3."""
    s1 = Department.objects.create(code="S1", name="甲公司", kind="subsidiary", runs_own_cycle=True, letter_prefix="甲")
    s2 = Department.objects.create(code="S2", name="乙公司", kind="subsidiary", runs_own_cycle=True, letter_prefix="乙")
    department_a.parent, department_b.parent = s1, s2
    department_a.save(), department_b.save()
    make_list(year, department_a)
    make_list(year, department_b)
    task_a = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="甲公司降本增效")
    task_b = KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="乙公司安全生产")
    meetings = {}
    for unit, task in ((s1, task_a), (s2, task_b)):
        confirm(task, stage_of(year, 4), 40)
        meeting = open_meeting(stage_of(year, 4), leadership, unit=unit, attendees=[leadership])
        rate(meeting, task, 40, leadership, decision="发函督办，约谈责任人")
        meetings[unit.code] = close(meeting, leadership)
    group_meeting = open_meeting(stage_of(year, 3), leadership)
    return {
        "s1": s1, "s2": s2, "task_a": task_a, "task_b": task_b, "meeting_s1": meetings["S1"],
        "meeting_s2": meetings["S2"], "group_meeting": group_meeting,
        "case_a": FollowUp.objects.get(rating__task=task_a), "case_b": FollowUp.objects.get(rating__task=task_b),
    }  # fmt: skip


# --- authentication --------------------------------------------------------------------------


def test_without_a_valid_token_every_operation_answers_401(client, world):
    _inactive, inactive_token = account("停用的系统", whole_group=True, active=False)
    _good, good_token = account("OA系统", whole_group=True)
    for headers in ({}, bearer("lb_not-a-token"), bearer(inactive_token), {"Authorization": f"Basic {good_token}"}):
        response = client.get(f"{API}/tasks", headers=headers)
        assert response.status_code == 401, headers
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["detail"]
    assert client.get(f"{API}/tasks", headers=bearer(good_token)).status_code == 200


def test_tokens_are_stored_only_as_their_hash_and_a_new_token_replaces_the_old(client, world, administrator):
    integration, token = account("OA系统", whole_group=True)
    integration.refresh_from_db()
    assert integration.token_hash == hash_token(token) and token not in integration.token_hash
    assert integration.token_prefix == token[:8]
    newer = api_services.issue_token(integration=integration, by=administrator)
    assert client.get(f"{API}/units", headers=bearer(token)).status_code == 401
    assert client.get(f"{API}/units", headers=bearer(newer)).status_code == 200
    integration.refresh_from_db()
    assert integration.last_used_at is not None


def test_the_admin_creates_an_account_and_shows_its_token_once(client, world, administrator):
    client.force_login(administrator)
    response = client.post(
        "/admin/api/integrationaccount/add/",
        {"name": "OA系统", "description": "", "access": "read", "units": [world["s1"].pk], "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    shown = re.findall(r"lb_[A-Za-z0-9_-]{40,}", response.content.decode())
    assert len(shown) == 1
    token = shown[0]
    assert client.get(f"{API}/units", headers=bearer(token)).status_code == 200
    # Shown once: the account's page does not show it again.
    integration = IntegrationAccount.objects.get(name="OA系统")
    page = client.get(f"/admin/api/integrationaccount/{integration.pk}/change/").content.decode()
    assert token not in page and token[:8] in page
    # An account must read something: units or the whole group.
    refused = client.post("/admin/api/integrationaccount/add/", {"name": "无范围", "access": "read", "is_active": "on"})
    assert refused.status_code == 200 and not IntegrationAccount.objects.filter(name="无范围").exists()


# --- what an account reads ------------------------------------------------------------------


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_a_token_of_one_subsidiary_reads_its_units_only(client, world, department_a):
    _s1, token = account("甲公司OA", units=[world["s1"]])
    headers = bearer(token)
    task_a, task_b = world["task_a"], world["task_b"]

    assert ids(client.get(f"{API}/tasks", headers=headers)) == [task_a.pk]
    assert client.get(f"{API}/tasks/{task_a.pk}", headers=headers).status_code == 200
    assert client.get(f"{API}/tasks/{task_b.pk}", headers=headers).status_code == 404
    assert client.get(f"{API}/tasks/{task_b.pk}/stages/6/self-assessment", headers=headers).status_code == 404
    assert ids(client.get(f"{API}/tasks?unit=S2", headers=headers)) == []

    lists = client.get(f"{API}/task-lists?year=2026", headers=headers).json()["items"]
    assert {row["department"]["code"] for row in lists} == {"S1", "A"}
    units = client.get(f"{API}/units", headers=headers).json()["items"]
    assert {row["code"] for row in units} == {"S1", "A"}
    lights = client.get(f"{API}/lights?year=2026&stage=4", headers=headers).json()["items"]
    assert [(row["task_id"], row["light"]) for row in lights] == [(task_a.pk, "red")]

    assert ids(client.get(f"{API}/meetings", headers=headers)) == [world["meeting_s1"].pk]
    for other in (world["meeting_s2"], world["group_meeting"]):
        assert client.get(f"{API}/meetings/{other.pk}", headers=headers).status_code == 404
        assert client.get(f"{API}/meetings/{other.pk}/minutes", headers=headers).status_code == 404
    minutes = client.get(f"{API}/meetings/{world['meeting_s1'].pk}/minutes", headers=headers).json()
    assert [row["task_id"] for row in minutes["follow_up"]] == [task_a.pk]

    assert ids(client.get(f"{API}/cases", headers=headers)) == [world["case_a"].pk]
    assert client.get(f"{API}/cases/{world['case_a'].pk}", headers=headers).status_code == 200
    assert client.get(f"{API}/cases/{world['case_b'].pk}", headers=headers).status_code == 404


def test_a_group_token_reads_every_unit_and_the_group_meetings(client, world):
    _group, token = account("集团OA", whole_group=True)
    headers = bearer(token)
    assert sorted(ids(client.get(f"{API}/tasks", headers=headers))) == sorted([world["task_a"].pk, world["task_b"].pk])
    assert len(ids(client.get(f"{API}/meetings", headers=headers))) == 3
    assert client.get(f"{API}/meetings/{world['group_meeting'].pk}", headers=headers).status_code == 200
    # A meeting still in session has no minutes yet.
    assert client.get(f"{API}/meetings/{world['group_meeting'].pk}/minutes", headers=headers).status_code == 404


def test_a_task_reads_with_its_stage_targets_and_the_light_that_stands_and_no_personal_data(client, world, staff_a):
    staff_a.email, staff_a.name = "staff_a@example.com", "张三"
    staff_a.save()
    _s1, token = account("甲公司OA", units=[world["s1"]])
    task = client.get(f"{API}/tasks/{world['task_a'].pk}", headers=bearer(token)).json()
    assert task["owner"] == {"name": "张三"}
    assert [stage["number"] for stage in task["stages"]] == [1, 2, 3, 4, 5, 6]
    stage_4 = task["stages"][3]
    assert stage_4["target"] == "第4阶段目标：甲公司降本增效"
    assert (stage_4["final_score"], stage_4["score_source"], stage_4["light"]) == (40.0, "final", "red")
    assert stage_4["self_assessment"]["state"] == "confirmed"
    text = str(task)
    assert "staff_a" not in text and "example.com" not in text
    case = client.get(f"{API}/cases/{world['case_a'].pk}", headers=bearer(token)).json()
    assert case["light"] == "red" and case["task"]["id"] == world["task_a"].pk
    assert "staff_a" not in str(case)


def test_pages_have_a_size_limit(client, world, department_a, staff_a, year):
    for number in range(5):
        KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=f"分页任务{number}")
    _s1, token = account("甲公司OA", units=[world["s1"]])
    first = client.get(f"{API}/tasks?page_size=4", headers=bearer(token)).json()
    second = client.get(f"{API}/tasks?page_size=4&page=2", headers=bearer(token)).json()
    assert (first["count"], len(first["items"]), len(second["items"])) == (6, 4, 2)
    assert not {item["id"] for item in first["items"]} & {item["id"] for item in second["items"]}
    too_big = client.get(f"{API}/tasks?page_size=201", headers=bearer(token))
    assert too_big.status_code == 422 and "page_size" in too_big.json()["errors"]


def test_each_token_has_its_own_rate_limit(client, world, settings, monkeypatch):
    settings.API_RATE_LIMIT = 3
    # 20 seconds into a minute: the window is fixed, so the answer says when it ends.
    monkeypatch.setattr("api.throttling.time.time", lambda: 1_800_000_000 // 60 * 60 + 20.0)
    _first, first = account("甲系统", whole_group=True)
    _second, second = account("乙系统", whole_group=True)
    answers = [client.get(f"{API}/years", headers=bearer(first)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.get(f"{API}/years", headers=bearer(first))
    assert refused.status_code == 429 and refused["Retry-After"] == "40"
    assert refused.json()["detail"]
    assert client.get(f"{API}/years", headers=bearer(second)).status_code == 200


# --- writing a self-assessment --------------------------------------------------------------

SELF_PATH = "/tasks/{task_id}/stages/{number}/self-assessment"
SELF = API + SELF_PATH.replace("{task_id}", "{task}")


def test_draft_and_submit_through_the_api_show_on_the_task_page_with_the_integration_in_the_history(
    client, world, staff_a
):
    integration, token = account("OA系统", units=[world["s1"]], access="read_write")
    task = world["task_a"]
    url = SELF.format(task=task.pk, number=6)
    before = client.get(url, headers=bearer(token)).json()
    assert before["self_assessment"]["state"] == "none" and before["self_assessment"]["version"] == 0

    draft = client.put(
        url, {"acting_for": "staff_a", "version": 0, "completion": 70, "account": "推进中"},
        content_type="application/json", headers=bearer(token),
    )  # fmt: skip
    assert draft.status_code == 200, draft.content
    assert draft.json()["self_assessment"]["state"] == "draft"
    version = draft.json()["self_assessment"]["version"]

    submitted = client.post(
        url + "/submit", {"acting_for": "staff_a", "version": version, "completion": 82.5, "account": "已完成阶段目标"},
        content_type="application/json", headers=bearer(token),
    )  # fmt: skip
    assert submitted.status_code == 200, submitted.content
    stage = submitted.json()
    assert stage["self_assessment"]["state"] == "submitted"
    assert (stage["score"], stage["score_source"], stage["light"]) == (82.5, "self", "green")
    assert stage["self_assessment"]["submitted_by"] == {"name": staff_a.name}

    assessment = SelfAssessment.objects.get(task=task, stage__number=6)
    assert (assessment.completion, assessment.state, assessment.submitted_by) == (82.5, "submitted", staff_a)
    entries = AuditEntry.objects.filter(subject_type="selfassessment", subject_id=assessment.pk).order_by("pk")
    assert [(entry.action, entry.actor, entry.reason) for entry in entries] == [
        ("save self-assessment", staff_a, api_services.through(integration)),
        ("submit self-assessment", staff_a, api_services.through(integration)),
    ]
    assert "OA系统" in api_services.through(integration)

    client.force_login(staff_a)
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    stages = page[page.index('id="stages"') : page.index("</table>", page.index('id="stages"'))]
    assert "82.5%" in stages and "已提交" in stages
    history = page[page.index('id="history"') :]
    assert history.count("OA系统") == 2


def state_of(task):
    return list(SelfAssessment.objects.filter(task=task).values_list("stage__number", "state", "completion", "version"))


def test_bad_input_is_refused_naming_the_field_and_changes_nothing(client, world, staff_b):
    _integration, token = account("OA系统", units=[world["s1"]], access="read_write")
    task = world["task_a"]
    url = SELF.format(task=task.pk, number=6)
    unchanged, audited = state_of(task), AuditEntry.objects.count()

    def put(body, path=url):
        return client.put(path, body, content_type="application/json", headers=bearer(token))

    good = {"acting_for": "staff_a", "version": 0, "completion": 70, "account": "推进中"}
    for body, field in (
        ({**good, "completion": 150}, "completion"),
        ({**good, "completion": 82.55}, "completion"),
        ({**good, "completion": "很多"}, "completion"),
        ({**good, "version": -1}, "version"),
        ({**good, "colour": "green"}, "colour"),
        ({key: value for key, value in good.items() if key != "acting_for"}, "acting_for"),
    ):
        response = put(body)
        assert response.status_code == 422, (body, response.content)
        assert field in response.json()["errors"], (body, response.json())
    submit = client.post(
        url + "/submit", {**good, "account": "   "}, content_type="application/json", headers=bearer(token)
    )
    assert submit.status_code == 422 and "account" in submit.json()["errors"]
    # Someone who may not self-assess this task (staff of another department), or nobody.
    for person in ("staff_b", "nobody"):
        response = put({**good, "acting_for": person})
        assert response.status_code == 403 and "acting_for" in response.json()["errors"]
    # A stage of a year that has not begun: the service's rule, as on the page.
    later = KeyTaskFactory(year=create_assessment_year(year=2099), department=task.department, owner=task.owner)
    response = put(good, SELF.format(task=later.pk, number=1))
    assert response.status_code == 409 and response.json()["detail"]
    assert state_of(task) == unchanged and AuditEntry.objects.count() == audited
    assert not SelfAssessment.objects.filter(task=later).exists()

    # A write based on an older version is refused, naming who changed it.
    assert put(good).status_code == 200
    stale = put({**good, "completion": 75})
    assert stale.status_code == 409 and "staff_a" in stale.json()["detail"]
    assert state_of(task)[-1][2] == 70


def test_a_read_only_token_cannot_write_and_a_scoped_token_cannot_write_to_another_subsidiary(client, world):
    _reader, reader = account("只读系统", whole_group=True)
    _writer, writer = account("甲公司OA", units=[world["s1"]], access="read_write")
    body = {"acting_for": "staff_b", "version": 0, "completion": 70, "account": "推进中"}
    audited = AuditEntry.objects.count()
    refused = client.put(
        SELF.format(task=world["task_a"].pk, number=6), {**body, "acting_for": "staff_a"},
        content_type="application/json", headers=bearer(reader),
    )  # fmt: skip
    assert refused.status_code == 403 and refused.json()["detail"]
    other = client.put(
        SELF.format(task=world["task_b"].pk, number=6), body, content_type="application/json", headers=bearer(writer)
    )
    assert other.status_code == 404
    assert AuditEntry.objects.count() == audited
    assert not SelfAssessment.objects.filter(stage__number=6).exists()


# --- a fixed number of queries whatever the size ----------------------------------------------

LISTS = ["/units", "/task-lists?year=2026", "/tasks", "/lights?year=2026&stage=5", "/meetings", "/cases"]


def queries_per_list(client, token):
    counts = {}
    client.get(f"{API}/years", headers=bearer(token))  # "last used" is written once a minute, not measured
    for path in LISTS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(API + path, headers=bearer(token))
        assert response.status_code == 200, (path, response.content)
        counts[path] = (len(captured), response.json()["count"])
    return counts


def test_lists_take_the_same_number_of_queries_whatever_their_size(client, world, year, department_a, leadership):
    _s1, token = account("甲公司OA", units=[world["s1"]])
    small = queries_per_list(client, token)

    owner = make_user("owner_more", Role.STAFF, departments=[department_a])
    for number in range(6):
        unit = Department.objects.create(code=f"S1-{number}", name=f"甲公司{number}部", parent=world["s1"])
        unit.cooperating_tasks.add(world["task_a"])
        task = KeyTaskFactory(year=year, department=department_a, owner=owner, title=f"更多任务{number}")
        task.cooperating_departments.add(unit)
        confirm(task, stage_of(year, 5), 30 + number)
    meeting = open_meeting(stage_of(year, 5), leadership, unit=world["s1"])
    for task in KeyTask.objects.filter(department=department_a):
        rate(meeting, task, 45, leadership, decision="督办")
    close(meeting, leadership)
    large = queries_per_list(client, token)

    assert {path: counts[0] for path, counts in large.items()} == {path: counts[0] for path, counts in small.items()}
    assert all(large[path][1] > small[path][1] for path in LISTS), (small, large)


# --- the OpenAPI document and its page ------------------------------------------------------


def test_the_openapi_document_is_served_valid_and_the_docs_page_needs_no_cdn(client, world):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    schemathesis.openapi.from_dict(document).validate()
    paths = set(document["paths"])
    expected = {"/tasks", "/tasks/{task_id}", "/lights", "/meetings/{meeting_id}/minutes", "/cases/{case_id}"}
    assert {f"/api/v1{path}" for path in expected} | {f"/api/v1{SELF_PATH}/submit"} <= paths
    assert document["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}

    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    styles = re.findall(r'<link[^>]*href="([^"]+)"', html)
    assert scripts and all(src.startswith("/static/") for src in scripts + styles)
    # No inline script runs (the settings are a JSON block), so the site's CSP holds.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert '"validatorUrl": null' in html
    for src in scripts + styles:
        assert client.get(src).status_code == 200, src


def test_other_addresses_under_the_api_answer_json(client, world):
    response = client.get(f"{API}/no-such-thing")
    assert response.status_code == 404 and response.json()["detail"]


# --- who may issue tokens, and the audit trail of accounts ----------------------------------

ACCOUNTS = "/admin/api/integrationaccount/"
TOKEN = re.compile(r"lb_[A-Za-z0-9_-]{40,}")


def view_only_clerk():
    """A member of staff who may open the accounts' list and pages, and change nothing."""
    from django.contrib.auth.models import Permission

    clerk = make_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_integrationaccount"))
    return clerk


def test_only_those_who_may_change_an_account_issue_it_a_token_and_only_they_see_it(world):
    from django.test import Client

    integration, token = account("OA系统", whole_group=True)
    issued = IntegrationAccount.objects.values_list("token_hash", "token_issued_at").filter(pk=integration.pk)
    before = list(issued)
    audited = AuditEntry.objects.count()
    issue = {"action": "issue_new_tokens", "_selected_action": [integration.pk]}

    clerk = Client()
    clerk.force_login(view_only_clerk())
    listing = clerk.get(ACCOUNTS)
    assert listing.status_code == 200 and "OA系统" in listing.content.decode()
    assert "issue_new_tokens" not in listing.content.decode()
    for post in (issue, {**issue, "post": "yes"}):
        refused = clerk.post(ACCOUNTS, post, follow=True)
        assert not TOKEN.search(refused.content.decode())
    assert list(issued) == before
    assert AuditEntry.objects.count() == audited
    assert clerk.get(f"{API}/units", headers=bearer(token)).status_code == 200

    # An administrator by role (neither superuser nor ticked permissions) may.
    setter = make_user("setter", Role.ADMINISTRATOR, is_staff=True)
    administrator = Client()
    administrator.force_login(setter)
    assert "issue_new_tokens" in administrator.get(ACCOUNTS).content.decode()
    # The running integration is cut off, so the action first asks and changes nothing.
    asked = administrator.post(ACCOUNTS, issue)
    assert asked.status_code == 200, asked.status_code
    confirmation = asked.content.decode()
    assert 'name="post" value="yes"' in confirmation and "OA系统" in confirmation
    assert f'name="_selected_action" value="{integration.pk}"' in confirmation
    assert 'value="issue_new_tokens"' in confirmation and not TOKEN.search(confirmation)
    assert list(issued) == before and AuditEntry.objects.count() == audited
    assert clerk.get(f"{API}/units", headers=bearer(token)).status_code == 200
    # Confirmed: the token is replaced.
    confirmed = administrator.post(ACCOUNTS, {**issue, "post": "yes"})
    assert confirmed.status_code == 302
    # The new token waits in the issuer's session on the server, never in a cookie the browser
    # keeps; nobody else's page shows it.
    assert CookieStorage.cookie_name not in confirmed.cookies
    assert not TOKEN.search(clerk.get(ACCOUNTS).content.decode())
    shown = TOKEN.findall(administrator.get(ACCOUNTS).content.decode())
    assert len(shown) == 1 and not TOKEN.search(administrator.get(ACCOUNTS).content.decode())
    assert clerk.get(f"{API}/units", headers=bearer(token)).status_code == 401
    assert clerk.get(f"{API}/units", headers=bearer(shown[0])).status_code == 200
    entries = AuditEntry.objects.order_by("pk")[audited:]
    assert [(entry.action, entry.actor, entry.subject_id) for entry in entries] == [
        ("issue api token", setter, integration.pk)
    ]


def test_the_service_writes_the_reason_into_the_self_assessment_entry_it_records(world, staff_a):
    from tasks.services import save_self_assessment

    task = world["task_a"]
    stage = task.year.stages.get(number=6)
    assessment = save_self_assessment(
        task=task, stage=stage, by=staff_a, version=0, completion=50, account="推进中", reason="经由某系统"
    )
    entry = AuditEntry.objects.get(subject_type="selfassessment", subject_id=assessment.pk)
    assert (entry.actor, entry.reason) == (staff_a, "经由某系统")
    # Without a reason, as the self-assessment page saves: none.
    save_self_assessment(
        task=task, stage=stage, by=staff_a, version=assessment.version, completion=60, account="推进中"
    )
    assert AuditEntry.objects.filter(subject_type="selfassessment").order_by("pk").last().reason == ""


def test_a_write_through_the_api_records_its_entry_once_and_never_edits_the_trail(client, world):
    integration, token = account("OA系统", units=[world["s1"]], access="read_write")
    url = SELF.format(task=world["task_a"].pk, number=6)
    body = {"acting_for": "staff_a", "version": 0, "completion": 70, "account": "推进中"}
    with CaptureQueriesContext(connection) as captured:
        response = client.put(url, body, content_type="application/json", headers=bearer(token))
    assert response.status_code == 200, response.content
    writes = [q["sql"] for q in captured if "auditentry" in q["sql"].lower() and not q["sql"].startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith("INSERT"), writes
    assessment = SelfAssessment.objects.get(task=world["task_a"], stage__number=6)
    entry = AuditEntry.objects.get(subject_type="selfassessment", subject_id=assessment.pk)
    assert entry.reason == api_services.through(integration)


def account_entries(integration):
    return AuditEntry.objects.filter(subject_type="integrationaccount", subject_id=integration.pk).order_by("pk")


def test_creating_and_changing_an_account_in_the_admin_is_audited_without_its_token(client, world):
    setter = make_user("setter", Role.ADMINISTRATOR, is_staff=True)
    client.force_login(setter)
    form = {"name": "OA系统", "description": "", "access": "read", "units": [world["s1"].pk], "is_active": "on"}
    created = client.post(f"{ACCOUNTS}add/", form, follow=True)
    token = TOKEN.findall(created.content.decode())[0]
    integration = IntegrationAccount.objects.get(name="OA系统")
    entries = list(account_entries(integration))
    assert [(entry.action, entry.actor) for entry in entries] == [
        ("create api integration", setter),
        ("issue api token", setter),
    ]
    assert entries[0].after == {
        "name": "OA系统", "access": "read", "whole_group": False, "units": ["S1 甲公司"], "is_active": True,
    }  # fmt: skip

    # The administrator widens what the token reads, and lets it write.
    change = f"{ACCOUNTS}{integration.pk}/change/"
    widened = {**form, "access": "read_write", "units": [world["s1"].pk, world["s2"].pk]}
    assert client.post(change, widened).status_code == 302
    entry = account_entries(integration).last()
    assert (entry.action, entry.actor) == ("change api integration", setter)
    assert entry.before == {"access": "read", "units": ["S1 甲公司"]}
    assert entry.after == {"access": "read_write", "units": ["S1 甲公司", "S2 乙公司"]}

    # Then the whole group, and off; a save that changes nothing records nothing.
    everything = {**widened, "whole_group": "on", "is_active": ""}
    assert client.post(change, everything).status_code == 302
    entry = account_entries(integration).last()
    assert (entry.before, entry.after) == (
        {"whole_group": False, "is_active": True},
        {"whole_group": True, "is_active": False},
    )
    count = account_entries(integration).count()
    assert client.post(change, everything).status_code == 302
    assert client.post(change, {**everything, "units": [world["s2"].pk, world["s1"].pk]}).status_code == 302
    assert account_entries(integration).count() == count

    integration.refresh_from_db()
    for entry in account_entries(integration):
        text = str([entry.before, entry.after, entry.reason])
        assert token not in text and integration.token_hash not in text and hash_token(token) not in text


def test_the_views_read_through_queries_and_decide_scope_through_access_only():
    """Thin views: what is read is api.queries', which units an account reaches api.access'."""
    import ast
    from pathlib import Path

    import api.views

    tree = ast.parse(Path(api.views.__file__).read_text(encoding="utf-8"))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {module for module in imported if module.startswith(("tasks", "reviews", "django.shortcuts"))}
    assert not {module for module in imported if module.startswith("lightboard") and module != "lightboard.versioning"}
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"objects", "stages", "scope_of", "org_tree", "get_object_or_404"}


def test_a_unit_filter_reaches_the_unit_and_below_within_the_account_only(world, department_a):
    from api import access

    scoped, _token = account("甲公司OA", units=[world["s1"]])
    group, _token = account("集团OA", whole_group=True)
    assert sorted(access.unit_ids(scoped, "S1")) == sorted([world["s1"].pk, department_a.pk])
    assert access.unit_ids(scoped, "A") == [department_a.pk]
    assert access.unit_ids(scoped, "S2") == [] and access.unit_ids(scoped, "NONE") == []
    assert access.unit_ids(group, "S2") == [world["s2"].pk, world["task_b"].department_id]


# --- what the administrator and the OA developer met in the demo ------------------------------


def test_the_account_page_shows_its_history_with_the_token_issued_and_by_whom(client, world):
    from django.utils.translation import gettext

    setter = make_user("setter", Role.ADMINISTRATOR, is_staff=True, name="系统管理员甲")
    integration, first = account("OA系统", units=[world["s1"]])
    client.force_login(setter)
    issue = {"action": "issue_new_tokens", "_selected_action": [integration.pk], "post": "yes"}
    token = TOKEN.findall(client.post(ACCOUNTS, issue, follow=True).content.decode())[0]

    page = client.get(f"{ACCOUNTS}{integration.pk}/change/").content.decode()
    history = page[page.index('class="api-history"') : page.index("</table>", page.index('class="api-history"'))]
    rows = re.findall(r"<tr>(.*?)</tr>", history, re.S)[1:]
    assert len(rows) == 2  # issued by the setter (newest first), and first issued with no one signed in
    assert gettext("API token issued") in rows[0] and "系统管理员甲" in rows[0]
    assert token[:8] in rows[0]
    assert token not in page and first not in page and integration.token_hash not in page


def test_tokens_are_letters_and_digits_shown_in_a_code_element_and_older_tokens_still_work(client, world):
    setter = make_user("setter", Role.ADMINISTRATOR, is_staff=True)
    client.force_login(setter)
    form = {"name": "OA系统", "description": "", "access": "read", "units": [world["s1"].pk], "is_active": "on"}
    page = client.post(f"{ACCOUNTS}add/", form, follow=True).content.decode()
    shown = re.findall(r'<code class="api-token"[^>]*>(lb_[^<]*)</code>', page)
    assert len(shown) == 1 and re.fullmatch(r"lb_[0-9a-f]{64}", shown[0]), shown  # 256 bits; double-click takes all
    assert client.get(f"{API}/units", headers=bearer(shown[0])).status_code == 200
    # A token issued before, in the URL-safe alphabet: only its hash was stored, so it still reads.
    older = "lb_Xy-9_" + "a" * 40
    IntegrationAccount.objects.filter(name="OA系统").update(token_hash=hash_token(older))
    assert client.get(f"{API}/units", headers=bearer(older)).status_code == 200


def test_the_units_are_check_boxes_in_tree_order_and_the_admin_history_names_fields_in_chinese(client, world):
    from django.contrib.admin.models import LogEntry
    from django.utils import translation

    setter = make_user("setter", Role.ADMINISTRATOR, is_staff=True)
    client.force_login(setter)
    integration, _token = account("OA系统", units=[world["s1"]])
    change = f"{ACCOUNTS}{integration.pk}/change/"
    page = client.get(change).content.decode()
    assert "SelectFilter2.js" not in page and "selectfilter" not in page
    boxes = re.findall(r'<input type="checkbox" name="units" value="(\d+)"', page)
    s1, a = world["s1"], world["task_a"].department
    assert boxes.index(str(s1.pk)) + 1 == boxes.index(str(a.pk))  # each unit under its parent
    assert f"甲公司 › {a.name}" in page

    form = {"name": "OA系统", "description": "", "access": "read", "units": [s1.pk]}  # 启用 unticked
    assert client.post(change, form).status_code == 302
    with translation.override("zh-hans"):
        message = LogEntry.objects.filter(object_id=str(integration.pk)).latest("pk").get_change_message()
    assert message == "已修改启用。", message


def test_refusals_of_a_write_are_worded_for_the_api(client, world, staff_a):
    from django.utils.translation import gettext

    _integration, token = account("OA系统", units=[world["s1"]], access="read_write")
    url = SELF.format(task=world["task_a"].pk, number=6)
    body = {"acting_for": "staff_a", "version": 0, "completion": 70, "account": "推进中"}

    def put(data, path=url):
        return client.put(path, data, content_type="application/json", headers=bearer(token))

    assert put(body).status_code == 200
    stale = put({**body, "completion": 75}).json()["detail"]
    assert "staff_a" in stale and "1" in stale and gettext("Reload the page") not in stale
    changed = gettext(
        "This self-assessment was changed by %(who)s at %(when)s (version %(version)s); read it again, then write."
    )
    assert stale.startswith(changed.split("%")[0]) and stale.endswith(changed.rsplit(")s", 1)[1])
    # Stage 4 was confirmed: a state name that already reads "已…" is not given a second 已.
    stage_4 = SELF.format(task=world["task_a"].pk, number=4)
    version = client.get(stage_4, headers=bearer(token)).json()["self_assessment"]["version"]
    confirmed = put({**body, "version": version}, stage_4)
    assert confirmed.status_code == 409
    state = SelfAssessment.State.CONFIRMED.label
    expected = gettext("This self-assessment stands as “%(state)s”: it cannot be written until a leader returns it.")
    assert confirmed.json()["detail"] == expected % {"state": state}
    assert "已已" not in confirmed.json()["detail"]


def test_field_errors_are_in_the_interface_language_keyed_on_pydantic_types(client, world):
    from django.utils.translation import gettext

    _integration, token = account("OA系统", units=[world["s1"]], access="read_write")
    url = SELF.format(task=world["task_a"].pk, number=6)
    good = {"acting_for": "staff_a", "version": 0, "completion": 70, "account": "推进中"}
    without_person = {key: value for key, value in good.items() if key != "acting_for"}
    too_long = gettext("At most %(max_length)s characters.") % {"max_length": 5000}
    for body, field, message in (
        ({**good, "completion": 150}, "completion", gettext("Must be at most %(le)s.") % {"le": 100}),
        ({**good, "version": -1}, "version", gettext("Must be at least %(ge)s.") % {"ge": 0}),
        ({**good, "completion": "很多"}, "completion", gettext("Must be a number.")),
        ({**good, "version": "v1"}, "version", gettext("Must be a whole number.")),
        ({**good, "account": "长" * 5001}, "account", too_long),
        ({**good, "colour": "green"}, "colour", gettext("This field is not accepted here.")),
        (without_person, "acting_for", gettext("This field is required.")),
    ):  # fmt: skip
        response = client.put(url, body, content_type="application/json", headers=bearer(token))
        assert response.status_code == 422
        assert response.json()["errors"][field] == [message], (body, response.json())
    listed = client.get(f"{API}/cases?state=lost", headers=bearer(token)).json()["errors"]["state"][0]
    assert "Input should" not in listed and "'open'" in listed


def test_json_is_written_in_utf_8_not_escaped(client, world):
    _integration, token = account("甲公司OA", units=[world["s1"]])
    response = client.get(f"{API}/units", headers=bearer(token))
    assert "甲公司".encode() in response.content and b"\\u" not in response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    # The answer outside ninja's operations too (any other address under /api/v1/).
    missing = client.get(f"{API}/no-such-thing").content
    assert b"\\u" not in missing and json.loads(missing)["detail"].encode() in missing


def test_the_docs_page_has_a_viewport_for_phones(client):
    html = client.get(f"{API}/docs").content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "swagger-ui-bundle.js" in html and 'id="swagger-settings"' in html


def test_years_come_a_page_at_a_time_like_every_list(client, world):
    _integration, token = account("甲公司OA", units=[world["s1"]])
    years = client.get(f"{API}/years", headers=bearer(token)).json()
    assert (years["count"], [row["year"] for row in years["items"]]) == (1, [2026])
    assert len(years["items"][0]["stages"]) == 6
