"""Every URL of the project × every role: the expected answer, generated from the URL conf
so that a new URL without an entry here fails this test.

The sample's department A belongs to subsidiary S1, which runs its own review cycle. The roles
are held for the whole group (leadership, inspector, leader_b), for S1 itself (sub_*: the same
answers as the group's), and for the sibling subsidiary S2 (sibling_*: strangers to A, refused
with 404 wherever an object of A is asked for).

Answers: 200 ok, 302 redirect (to the login page for anonymous users), 403 not allowed,
404 not found (where even existence must not leak), 405 wrong method."""

import datetime
from itertools import combinations

import pytest
from django.core.files.base import ContentFile
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from lightboard.roles import Role
from reports import services as report_services
from reviews import cases
from reviews import services as review_services
from reviews.models import FollowUp, Letter, RectificationFile
from tasks import services as task_services
from tasks.models import Department, Evidence, ImportJob, SelfAssessment
from tests.conftest import make_user
from tests.factories import KeyTaskFactory, make_list

pytestmark = pytest.mark.django_db

GROUP_ROLES = ["anonymous", "staff_a", "staff_b", "leader_a", "leader_b", "leadership", "inspector", "administrator"]
ANON, STAFF_A, STAFF_B, LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR, ADMIN = GROUP_ROLES
READERS = {LEADER_A: 200, LEADER_B: 200, LEADERSHIP: 200, INSPECTOR: 200}
# Roles held at S1 (department A's subsidiary) answer as the group's; at S2, its sibling, as
# the group's too where nothing of A is asked for.
AT_S1 = {"sub_leadership": LEADERSHIP, "sub_inspector": INSPECTOR, "sub_leader": LEADER_B}
AT_S2 = {"sibling_leadership": LEADERSHIP, "sibling_inspector": INSPECTOR, "sibling_leader": LEADER_B}
ROLES = GROUP_ROLES + list(AT_S1) + list(AT_S2)


def row(default, **answers):
    """Answers per role: `default` for everyone signed in, anonymous to the login page."""
    expected = dict.fromkeys(GROUP_ROLES, default)
    expected[ANON] = 302
    expected.update(answers)
    return expected


def only(roles, ok=200, other=403):
    return row(other, **dict.fromkeys(roles, ok))


# URL name -> answers to a GET by each role.
EXPECTED = {
    "home": row(302, administrator=302),
    "login": row(302, anonymous=200),
    "logout": row(405, anonymous=405),
    "password_change": row(200),
    "password_change_done": row(200),
    "set_language": row(302, anonymous=302),
    "admin:index": row(302, administrator=200),
    "tasks:mine": only([STAFF_A, STAFF_B]),
    "tasks:lists": row(403, staff_a=302, staff_b=302, **READERS),
    "tasks:list": row(404, staff_a=200, **READERS),
    "tasks:create": row(404, staff_a=200, leader_a=403, leader_b=403, leadership=403, inspector=403),
    # Writes answer only POST; a GET is refused before anything else is looked at.
    "tasks:list_submit": dict.fromkeys(ROLES, 405),
    "tasks:list_approve": dict.fromkeys(ROLES, 405),
    "tasks:list_return": dict.fromkeys(ROLES, 405),
    "tasks:list_copy": dict.fromkeys(ROLES, 405),
    "tasks:list_template": row(404, staff_a=200, **READERS),
    "tasks:list_export": row(404, staff_a=200, **READERS),
    "tasks:list_import": row(404, staff_a=200, leader_a=403, leader_b=403, leadership=403, inspector=403),
    "tasks:list_import_job": row(404, staff_a=200, leader_a=403, leader_b=403, leadership=403, inspector=403),
    "tasks:detail": row(404, staff_a=200, **READERS),
    "tasks:edit": row(404, staff_a=200, leader_a=403, leader_b=403, leadership=403, inspector=403),
    "tasks:assess": row(404, staff_a=200, **READERS),
    "tasks:light_preview": row(404, staff_a=200, **READERS),
    "tasks:evidence": row(404, staff_a=200, **READERS),
    "tasks:evidence_remove": dict.fromkeys(ROLES, 405),
    # The comment is staff_a's, in the task's own discussion: only its author edits it.
    "tasks:comment_edit": row(403, staff_a=200, staff_b=404, administrator=404),
    "tasks:comment_instruct": dict.fromkeys(ROLES, 405),
    # The list of the matrix's task is a draft: requests are for approved lists, but the form
    # opens for the owner's side (and says so when sent).
    "tasks:change_request": row(403, staff_a=200, staff_b=404, administrator=404),
    "tasks:changes": only([LEADERSHIP]),
    "tasks:deputies": only([LEADER_A, LEADER_B, INSPECTOR]),
    "tasks:deputy_withdraw": dict.fromkeys(ROLES, 405),
    "reviews:confirmations": only([LEADER_A, LEADER_B]),
    "reviews:confirmation": row(403, leader_a=200, leader_b=404),
    "reviews:meetings": only([LEADERSHIP]),
    "reviews:board": only([LEADERSHIP]),
    "reviews:open": dict.fromkeys(ROLES, 405),
    "reviews:present": only([LEADERSHIP]),
    # GET asks before closing; the sample meeting is closed already, so back to its board.
    "reviews:close": only([LEADERSHIP], ok=302),
    "reviews:minutes": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    "reviews:minutes_xlsx": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    "reviews:amend": only([LEADERSHIP]),
    "reviews:followups": only([INSPECTOR]),
    "reviews:accountability": only([INSPECTOR, LEADERSHIP]),
    "reviews:case": row(404, staff_a=200, leader_a=200, leadership=200, inspector=200),
    "reviews:letter": row(404, staff_a=200, leader_a=200, leadership=200, inspector=200),
    "reviews:letter_docx": row(404, staff_a=200, leader_a=200, leadership=200, inspector=200),
    "reviews:letter_pdf": row(404, staff_a=200, leader_a=200, leadership=200, inspector=200),
    "reviews:rectification_file": row(404, staff_a=200, leader_a=200, leadership=200, inspector=200),
    "inbox:index": row(200),
    "inbox:count": row(200),
    "inbox:preferences": row(200),
    "reviews:letter_acknowledge": dict.fromkeys(ROLES, 405),
    "inbox:read_all": dict.fromkeys(ROLES, 405),
    "inbox:open": dict.fromkeys(ROLES, 405),
    "reports:overview": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    "reports:overview_xlsx": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    "reports:scorecard": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    "reports:scorecard_xlsx": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    "reports:warning": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    "reports:years": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    "reports:ranking": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    "reports:honour_roll_new": only([LEADERSHIP]),
    # The matrix's meeting (S1's own) has a published roll: S1's people and the group's readers
    # read it; staff of another unit and the administrator are not among those it went to.
    "reports:honour_roll": row(200, staff_b=404, administrator=404),
    "reports:task_chart": only([LEADER_A, LEADER_B, LEADERSHIP, INSPECTOR]),
    # Signing in from inside WeCom/DingTalk: neither app is set up here, so there is no such page.
    "workapps:start": dict.fromkeys(ROLES, 404),
    "workapps:callback": dict.fromkeys(ROLES, 404),
    # The JSON API answers integration tokens only (Bearer), never a session: 401. Its index,
    # OpenAPI document and docs page are public. A GET of the submit write is 405.
    "api:api-root": dict.fromkeys(ROLES, 200),
    "api:openapi-json": dict.fromkeys(ROLES, 200),
    "api:openapi-view": dict.fromkeys(ROLES, 200),
    **{
        f"api:{name}": dict.fromkeys(ROLES, 401)
        for name in (
            "years",
            "units",
            "task_lists",
            "tasks",
            "task",
            "lights",
            "meetings",
            "meeting",
            "minutes",
            "cases",
            "case",
            "stage",
            "save_draft",
        )
    },
    "api:submit": dict.fromkeys(ROLES, 405),
    # For load balancers: public, whoever asks (tests/test_health.py checks that nothing leaks).
    "healthz": dict.fromkeys(ROLES, 200),
    "readyz": dict.fromkeys(ROLES, 200),
}


# The pages that show an object of department A (its list, task, meeting, case, letters,
# scorecard): a stranger from the sibling subsidiary is told it does not exist.
OF_DEPARTMENT_A = {
    "tasks:list", "tasks:list_template", "tasks:list_export", "tasks:detail", "tasks:assess",
    "tasks:light_preview", "tasks:evidence", "reviews:board", "reviews:present", "reviews:close",
    "reviews:minutes", "reviews:minutes_xlsx", "reviews:amend", "reviews:case", "reviews:letter",
    "reviews:letter_docx", "reviews:letter_pdf", "reviews:rectification_file", "reports:scorecard",
    "reports:honour_roll",
    "reports:scorecard_xlsx", "reports:honour_roll_new", "reports:task_chart",
}  # fmt: skip
# Pages of A's objects that the role could not use anyway (403 for the group's): the stranger
# is not told that much either.
OF_DEPARTMENT_A_ASKED_FIRST = {
    "tasks:create", "tasks:edit", "tasks:list_import", "tasks:list_import_job", "tasks:change_request",
    "tasks:comment_edit",
}  # fmt: skip
for _name, _answers in EXPECTED.items():
    for _role, _as in AT_S1.items():
        _answers.setdefault(_role, _answers[_as])
    for _role, _as in AT_S2.items():
        refused = (_name in OF_DEPARTMENT_A and _answers[_as] in (200, 302)) or (
            _name in OF_DEPARTMENT_A_ASKED_FIRST and _answers[_as] == 403
        )
        _answers.setdefault(_role, 404 if refused else _answers[_as])


def project_url_names(patterns=None, namespace=""):
    """Every named URL of the project (the admin site counts as one: its index)."""
    names = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                names.append("admin:index")
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names += project_url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(f"{namespace}{pattern.name}")
    return names


def test_every_url_has_an_entry():
    missing = sorted(set(project_url_names()) - set(EXPECTED))
    assert missing == [], f"add these URLs to the permission matrix: {missing}"
    assert sorted(set(EXPECTED) - set(project_url_names())) == []


@pytest.fixture
def world(
    year, department_a, department_b, staff_a, staff_b, leader_a, leader_b, leadership, inspector, settings, tmp_path
):
    """One of everything, in department A: a task with a submitted assessment and evidence,
    a closed meeting with a red rating, its case and letter, and a notification."""
    settings.MEDIA_ROOT = tmp_path
    administrator = make_user("office_admin", Role.ADMINISTRATOR)
    s1 = Department.objects.create(code="S1", name="甲公司", kind="subsidiary", runs_own_cycle=True, letter_prefix="甲")
    s2 = Department.objects.create(code="S2", name="乙公司", kind="subsidiary", runs_own_cycle=True, letter_prefix="乙")
    Department.objects.create(code="S2-D", name="乙公司生产部", parent=s2)
    department_a.parent = s1
    department_a.save()
    at_s1 = {
        "sub_leadership": make_user("s1_leadership", Role.LEADERSHIP, unit=s1),
        "sub_inspector": make_user("s1_inspector", Role.INSPECTOR, unit=s1),
        "sub_leader": make_user("s1_leader", Role.DIVISION_LEADER, unit=s1),
    }
    at_s2 = {
        "sibling_leadership": make_user("s2_leadership", Role.LEADERSHIP, unit=s2),
        "sibling_inspector": make_user("s2_inspector", Role.INSPECTOR, unit=s2),
        "sibling_leader": make_user("s2_leader", Role.DIVISION_LEADER, unit=s2),
    }
    import_job = ImportJob.objects.create(task_list=make_list(year, department_a), by=staff_a, rows=400)
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    stage = year.stages.get(number=5)
    assessment = SelfAssessment.objects.create(
        task=task, stage=stage, completion=40, account="x", state="submitted", submitted_at=timezone.now()
    )
    evidence = Evidence.objects.create(
        assessment=assessment, file=ContentFile(b"%PDF-1.4 x", name="a.pdf"), original_name="a.pdf", size=10,
        uploaded_by=staff_a,
    )  # fmt: skip
    other_stage = year.stages.get(number=4)
    confirmed = SelfAssessment.objects.create(
        task=task, stage=other_stage, completion=40, account="x", state="submitted", submitted_at=timezone.now()
    )
    review_services.confirm_as_submitted(assessments=[(confirmed.pk, confirmed.version)], by=leader_a)
    meeting = review_services.schedule_meeting(
        stage=other_stage, unit=s1, date=datetime.date(2026, 9, 10), place="", attendees=[], by=leadership
    )
    review_services.open_meeting(meeting=meeting, by=at_s1["sub_leadership"])
    review_services.close_meeting(meeting=meeting, by=at_s1["sub_leadership"])
    case = FollowUp.objects.get()
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    letter = Letter.objects.get(kind="supervision")
    assert letter.number == "甲纪督〔2026〕1号"
    case.refresh_from_db()
    cases.submit_plan(
        case_id=case.pk, version=case.version, text="计划", responsible="甲",
        target_date=datetime.date(2099, 1, 1), by=staff_a,
    )  # fmt: skip
    case.refresh_from_db()
    cases.submit_report(
        case_id=case.pk, version=case.version, text="报告", files=[ContentFile(b"%PDF-1.4 x", name="r.pdf")],
        by=staff_a,
    )  # fmt: skip
    comment = task_services.post_comment(task=task, by=staff_a, text="进度说明")
    users = {
        STAFF_A: staff_a, STAFF_B: staff_b, LEADER_A: leader_a, LEADER_B: leader_b, LEADERSHIP: leadership,
        INSPECTOR: inspector, ADMIN: administrator, **at_s1, **at_s2,
    }  # fmt: skip
    kwargs = {
        "task_id": task.pk,
        "number": 5,
        "year": 2026,
        "code": department_a.code,
        "evidence_id": evidence.pk,
        "file_id": RectificationFile.objects.get().pk,
        "comment_id": comment.pk,
        "deputy_id": 1,
        "job_id": import_job.pk,
        "roll_id": report_services.publish_honour_roll(meeting_id=meeting.pk, by=leadership).pk,
        "assessment_id": assessment.pk,
        "meeting_id": meeting.pk,
        "rating_id": case.rating_id,
        "case_id": case.pk,
        "letter_id": letter.pk,
        "notification_id": letter.notifications.get(recipient=staff_a).pk,
        "channel": "wecom",
    }
    return users, kwargs


def url_for(name, kwargs):
    """Reverse a URL name with whichever of the sample kwargs its pattern takes."""
    for count in range(4):
        for keys in combinations(kwargs, count):
            try:
                return reverse(name, kwargs={key: kwargs[key] for key in keys})
            except NoReverseMatch:
                continue
    raise AssertionError(f"cannot reverse {name}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_role_gets_the_expected_answer(client, world, name):
    users, kwargs = world
    url = url_for(name, kwargs)
    answers = {}
    for role in ROLES:
        client.logout()
        if role != ANON:
            client.force_login(users[role])
        answers[role] = client.get(url).status_code
    diff = {role: (EXPECTED[name][role], answers[role]) for role in ROLES if answers[role] != EXPECTED[name][role]}
    assert not diff, f"{url}: expected, got {diff}"
