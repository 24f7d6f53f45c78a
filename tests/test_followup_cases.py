"""Follow-up casework of the discipline inspection office: the yellow and red workflows, the
order of the steps, stale edits, who may act and who may see, and the serious flag."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import formats, timezone, translation

from lightboard.roles import Role
from lightboard.versioning import StaleEdit
from outbox.models import Notification
from reviews import cases
from reviews.models import CaseEvent, FollowUp, Letter, Rating
from tasks.models import AuditEntry
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, english, interview_time, open_meeting, rate, rating_of, stage_of, typed

pytestmark = pytest.mark.django_db


def in_two_weeks():
    return timezone.localdate() + datetime.timedelta(days=14)


def pdf_upload(name="投产报告.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 test evidence", content_type="application/pdf")


@pytest.fixture
def retired_a(department_a):
    return make_user("retired_a", Role.STAFF, departments=[department_a], is_active=False)


@pytest.fixture
def tasks(year, department_a, department_b, staff_a, staff_b, colleague_a, retired_a):
    return {
        "green": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化"),
        "yellow": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="设备大修"),
        "red": KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="新产线投产"),
        "red_b": KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="应收账款清收"),
    }


SCORES = {"green": 92, "yellow": 70, "red": 45, "red_b": 45}


@pytest.fixture
def meeting(year, leadership, tasks):
    meeting = open_meeting(stage_of(year, 2), leadership)
    for key, task in tasks.items():
        rate(meeting, task, SCORES[key], leadership, decision=f"{task.title}的处理意见")
    return close(meeting, leadership)


@pytest.fixture
def case_of(meeting, tasks):
    def get(key):
        return FollowUp.objects.get(rating=rating_of(meeting, tasks[key]))

    return get


def case_url(case):
    return f"/reviews/followups/{case.pk}/"


def act(client, case, action, **data):
    """POST one step of a case with its current version (unless `version` is given)."""
    case.refresh_from_db()
    data.setdefault("version", case.version)
    return client.post(case_url(case), {"action": action, **data})


def as_user(client, user):
    client.force_login(user)
    return english(client)


def snapshot(case):
    case.refresh_from_db()
    return (
        case.state,
        case.version,
        CaseEvent.objects.filter(case=case).count(),
        Letter.objects.filter(case=case).count(),
        Notification.objects.count(),
        AuditEntry.objects.filter(action__startswith="case:").count(),
    )


def errors_of(response):
    """The error messages on the page: the message list at the top and the forms' errors."""
    html = response.content.decode()
    found = re.findall(r'<li class="message error">(.*?)</li>', html, re.S)
    found += re.findall(r'<div class="form-error" role="alert">(.*?)</div>', html, re.S)
    found += re.findall(r'<p class="field-error">(.*?)</p>', html, re.S)
    return " ".join(found)


def state_on_page(response):
    """The state key on the badge (#case-state), independent of the catalogue's wording."""
    match = re.search(r'<span class="state-badge (\w+)" id="case-state">', response.content.decode())
    assert match, "no #case-state on the page"
    return match.group(1)


# --- the cases the meeting opened ----------------------------------------------------


def test_closing_the_meeting_opens_a_reminder_case_per_yellow_and_a_supervision_case_per_red(case_of, meeting):
    assert FollowUp.objects.count() == 3
    assert case_of("yellow").kind == FollowUp.Kind.REMINDER
    assert case_of("red").kind == FollowUp.Kind.SUPERVISION
    assert case_of("red_b").kind == FollowUp.Kind.SUPERVISION
    assert {c.state for c in FollowUp.objects.all()} == {FollowUp.State.OPEN}
    today = timezone.localdate()
    assert case_of("yellow").due_date == today + datetime.timedelta(days=15)
    assert case_of("red").due_date == today + datetime.timedelta(days=30)


# --- yellow: reminder, rectification, close ------------------------------------------------


def test_yellow_case_from_reminder_to_close(client, case_of, inspector, staff_a, colleague_a, retired_a, staff_b):
    case = case_of("yellow")
    response = act(as_user(client, inspector), case, "reminder")
    assert response.status_code == 302

    case.refresh_from_db()
    assert case.state == FollowUp.State.NOTIFIED
    assert case.inspector == inspector
    assert case.updated_by == inspector
    letter = Letter.objects.get(case=case)
    assert letter.kind == Letter.Kind.REMINDER
    assert letter.number == "纪提〔2026〕1号"
    assert letter.issued_by == inspector

    sent = letter.notifications.all()
    # The owner is also staff of the department: one message each, however many roles.
    assert sorted(sent.values_list("recipient__username", flat=True)) == ["colleague_a", "staff_a"]
    assert {n.link for n in sent} == {f"/reviews/letters/{letter.pk}/"}
    assert all(letter.number in n.body for n in sent)
    assert not letter.notifications.filter(recipient__in=[retired_a, staff_b]).exists()

    event = CaseEvent.objects.get(case=case)
    assert (event.action, event.actor, event.from_state, event.to_state) == (
        "reminder sent",
        inspector,
        "open",
        "notified",
    )
    assert event.note == letter.number
    audit = AuditEntry.objects.get(action="case: reminder sent")
    assert audit.actor == inspector
    assert audit.subject_id == case.pk
    assert audit.before == {"state": "open"} and audit.after == {"state": "notified"}

    # The department's staff (not only the owner) answer the reminder, for the owner.
    response = act(as_user(client, colleague_a), case, "answer", text="备件晚到两周", catch_up="增加夜班，月底前完成")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == FollowUp.State.RECTIFYING
    answer = case.rectifications.get()
    assert (answer.kind, answer.state, answer.submitted_by) == ("answer", "submitted", colleague_a)
    assert (answer.text, answer.catch_up) == ("备件晚到两周", "增加夜班，月底前完成")
    assert case.inspector == inspector  # a staff member's step does not take the case over
    told = Notification.objects.get(kind="rectification_submitted")
    assert told.recipient == inspector and told.link == case_url(case)

    # Nothing more to submit while it awaits review.
    before = snapshot(case)
    response = act(as_user(client, staff_a), case, "answer", text="再说明", catch_up="措施")
    assert response.status_code == 400
    assert "awaiting the inspector&#x27;s review" in errors_of(response)
    assert snapshot(case) == before

    # The inspector returns it with a comment; the owner and the colleague who wrote it are told.
    response = act(as_user(client, inspector), case, "review", rectification=answer.pk, decision="return",
                   comment="请写明每周的追赶节点")  # fmt: skip
    assert response.status_code == 302
    answer.refresh_from_db()
    assert (answer.state, answer.reviewed_by, answer.review_comment) == ("returned", inspector, "请写明每周的追赶节点")
    returned = Notification.objects.filter(kind="rectification_returned")
    assert sorted(returned.values_list("recipient__username", flat=True)) == ["colleague_a", "staff_a"]
    assert all(n.body == "请写明每周的追赶节点" for n in returned)

    # The owner answers again: a new answer; the returned one stays on record.
    response = act(as_user(client, staff_a), case, "answer", text="备件晚到两周", catch_up="每周六加班，第3周末完成")
    assert response.status_code == 302
    latest = case.rectifications.latest("pk")
    assert latest.pk != answer.pk and latest.state == "submitted"
    response = act(as_user(client, inspector), case, "review", rectification=latest.pk, decision="accept")
    assert response.status_code == 302
    latest.refresh_from_db()
    assert latest.state == "accepted"

    before = timezone.now()
    response = act(as_user(client, inspector), case, "close", conclusion="整改到位，予以销号")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == FollowUp.State.CLOSED
    assert case.conclusion == "整改到位，予以销号"
    assert case.closed_unaccepted_reason == ""
    assert case.closed_at is not None and case.closed_at >= before

    steps = list(CaseEvent.objects.filter(case=case).values_list("action", "actor__username", "to_state"))
    assert steps == [
        ("reminder sent", "inspector", "notified"),
        ("rectification submitted", "colleague_a", "rectifying"),
        ("rectification returned", "inspector", "rectifying"),
        ("rectification submitted", "staff_a", "rectifying"),
        ("rectification accepted", "inspector", "rectifying"),
        ("closed", "inspector", "closed"),
    ]
    assert "colleague_a" in CaseEvent.objects.filter(case=case)[1].note  # "by colleague_a for staff_a"
    assert AuditEntry.objects.filter(action__startswith="case:", subject_id=case.pk).count() == 6

    page = client.get(case_url(case))
    assert state_on_page(page) == "closed"
    assert "整改到位，予以销号" in page.content.decode()


# --- red: supervision letter, interview, rectification, close ------------------------------


def test_red_case_from_supervision_letter_to_close(client, case_of, inspector, staff_a, colleague_a):
    case = case_of("red")
    assert act(as_user(client, inspector), case, "supervision").status_code == 302
    case.refresh_from_db()
    assert case.state == FollowUp.State.NOTIFIED
    letter = Letter.objects.get(case=case, kind=Letter.Kind.SUPERVISION)
    assert letter.number == "纪督〔2026〕1号"
    assert sorted(letter.notifications.all().values_list("recipient__username", flat=True)) == [
        "colleague_a",
        "staff_a",
    ]

    # The owner answers with the plan at once; the interview can still follow.
    response = act(as_user(client, staff_a), case, "plan", text="两周内完成设备调试并投产", responsible="staff_a",
                   target_date=(timezone.localdate() + datetime.timedelta(days=14)).isoformat())  # fmt: skip
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == FollowUp.State.RECTIFYING
    plan = case.rectifications.get()
    assert (plan.kind, plan.responsible) == ("plan", "staff_a")

    client = as_user(client, inspector)
    when = interview_time()
    response = act(client, case, "interview", at=typed(when), place="纪检室", participants="纪检员、部门负责人")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == FollowUp.State.INTERVIEW_SCHEDULED
    assert case.interview_at == when
    assert case.interview_place == "纪检室"
    assert case.interview_participants == "纪检员、部门负责人"
    notice = Letter.objects.get(case=case, kind=Letter.Kind.INTERVIEW)
    assert notice.number == "纪谈〔2026〕1号"
    told = notice.notifications.get()
    assert told.recipient == staff_a
    assert told.link == f"/reviews/letters/{notice.pk}/"
    with translation.override("en"):
        assert formats.date_format(timezone.localtime(when), "DATETIME_FORMAT") in told.body and "纪检室" in told.body

    response = act(client, case, "record", record="当面指出问题，负责人作出说明")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == FollowUp.State.INTERVIEWED
    assert case.interview_record == "当面指出问题，负责人作出说明"
    assert act(client, case, "review", rectification=plan.pk, decision="accept").status_code == 302

    # Accepting the plan is not enough to close (销号): that waits for an accepted report.
    before = snapshot(case)
    response = act(client, case, "close", conclusion="已投产，销号")
    assert response.status_code == 400
    assert "No rectification of this case is accepted" in errors_of(response)
    assert snapshot(case) == before

    response = act(as_user(client, staff_a), case, "report", text="已投产，首批产品合格", files=[pdf_upload()])
    assert response.status_code == 302
    report = case.rectifications.get(kind="report")
    assert [f.original_name for f in report.files.all()] == ["投产报告.pdf"]
    response = act(as_user(client, inspector), case, "review", rectification=report.pk, decision="accept")
    assert response.status_code == 302

    assert act(as_user(client, inspector), case, "close", conclusion="已投产，销号").status_code == 302
    case.refresh_from_db()
    assert case.state == FollowUp.State.CLOSED and case.closed_at is not None
    assert list(CaseEvent.objects.filter(case=case).values_list("action", flat=True)) == [
        "supervision letter issued",
        "rectification submitted",
        "interview scheduled",
        "interview recorded",
        "rectification accepted",
        "rectification submitted",
        "rectification accepted",
        "closed",
    ]
    assert all(e.actor_id for e in CaseEvent.objects.filter(case=case))
    assert AuditEntry.objects.filter(action__startswith="case:", subject_id=case.pk).count() == 8


def test_rescheduling_the_interview_keeps_the_notice_number_and_tells_the_owner_again(case_of, inspector, staff_a):
    case = case_of("red")
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    first = interview_time()
    case = cases.schedule_interview(
        case_id=case.pk, version=case.version + 1, at=first, place="纪检室", participants="", by=inspector
    )
    second = first + datetime.timedelta(days=1)
    cases.schedule_interview(
        case_id=case.pk, version=case.version, at=second, place="二楼会议室", participants="", by=inspector
    )
    case.refresh_from_db()
    assert case.state == FollowUp.State.INTERVIEW_SCHEDULED
    assert case.interview_at == second
    assert Letter.objects.filter(case=case, kind=Letter.Kind.INTERVIEW).count() == 1
    notice = Letter.objects.get(case=case, kind=Letter.Kind.INTERVIEW)
    assert notice.notifications.filter(recipient=staff_a).count() == 2


# --- escalation -------------------------------------------------------------------------


def advance(case, state, inspector, owner):
    """Bring a red case to `state` through the services."""
    steps = [
        (FollowUp.State.NOTIFIED, lambda v: cases.issue_supervision_letter(case_id=case.pk, version=v, by=inspector)),
        (
            FollowUp.State.INTERVIEW_SCHEDULED,
            lambda v: cases.schedule_interview(
                case_id=case.pk,
                version=v,
                at=interview_time(),
                place="纪检室",
                participants="",
                by=inspector,
            ),
        ),
        (
            FollowUp.State.INTERVIEWED,
            lambda v: cases.record_interview(case_id=case.pk, version=v, record="记录", by=inspector),
        ),
        (
            FollowUp.State.RECTIFYING,
            lambda v: cases.submit_plan(
                case_id=case.pk, version=v, text="计划", responsible="责任人", target_date=in_two_weeks(), by=owner
            ),
        ),
    ]
    order = ["open"] + [reached for reached, _step in steps]
    for reached, step in steps:
        case.refresh_from_db()
        if order.index(case.state) >= order.index(state):
            break
        if order.index(case.state) >= order.index(reached):
            continue
        step(case.version)
        assert FollowUp.objects.get(pk=case.pk).state == reached
    case.refresh_from_db()
    assert case.state == state
    return case


@pytest.mark.parametrize("state", ["open", "notified", "interview_scheduled", "interviewed", "rectifying"])
def test_an_inspector_escalates_a_case_from_any_open_state(client, case_of, inspector, staff_a, state):
    case = advance(case_of("red"), state, inspector, staff_a)
    response = act(as_user(client, inspector), case, "escalate", reason="屡督不改，启动问责")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == FollowUp.State.ESCALATED
    assert case.escalation_reason == "屡督不改，启动问责"
    event = CaseEvent.objects.filter(case=case).last()
    assert (event.action, event.from_state, event.to_state, event.actor) == ("escalated", state, "escalated", inspector)
    assert AuditEntry.objects.filter(action="case: escalated", subject_id=case.pk).count() == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_escalating_without_a_reason_changes_nothing(client, case_of, inspector, reason):
    case = case_of("yellow")
    before = snapshot(case)
    response = act(as_user(client, inspector), case, "escalate", reason=reason)
    assert response.status_code == 400
    assert errors_of(response)
    assert snapshot(case) == before


def test_escalating_without_a_reason_is_refused_by_the_service_too(case_of, inspector):
    case = case_of("yellow")
    with pytest.raises(ValidationError):
        cases.escalate(case_id=case.pk, version=case.version, reason="  ", by=inspector)
    assert FollowUp.objects.get(pk=case.pk).state == FollowUp.State.OPEN


# --- steps in the wrong order ----------------------------------------------------------


WRONG_ORDER = [
    ("yellow", "open", "record", {"record": "记录"}, "does not apply now"),
    ("yellow", "open", "close", {"conclusion": "结案"}, "reminder or the supervision letter first"),
    ("red", "open", "reminder", {}, "supervision letter, not a reminder"),
    ("yellow", "open", "supervision", {}, "reminder, not a supervision letter"),
    ("red", "open", "record", {"record": "记录"}, "does not apply now"),
    ("red", "open", "interview", {"at": typed(interview_time()), "place": "纪检室"}, "does not apply now"),
    ("yellow", "notified", "interview", {"at": typed(interview_time()), "place": "纪检室"}, "supervision letter"),
    ("yellow", "notified", "reminder", {}, "does not apply now"),
    ("red", "notified", "supervision", {}, "does not apply now"),
    ("red", "notified", "record", {"record": "记录"}, "does not apply now"),
    ("red", "notified", "close", {"conclusion": "结案"}, "No rectification of this case is accepted"),
    ("yellow", "notified", "plan", {"text": "计划", "responsible": "甲", "target_date": "2026-12-31"}, "not a plan"),
    ("red", "notified", "answer", {"text": "说明", "catch_up": "措施"}, "rectification plan and reports"),
    ("red", "notified", "report", {"text": "报告"}, "Submit the rectification plan first"),
    ("yellow", "closed", "escalate", {"reason": "问责"}, "does not apply now"),
    ("yellow", "closed", "close", {"conclusion": "再结一次"}, "does not apply now"),
    ("red", "escalated", "close", {"conclusion": "结案"}, "does not apply now"),
]


@pytest.mark.parametrize(("key", "state", "action", "data", "message"), WRONG_ORDER)
def test_a_step_in_the_wrong_order_is_refused_with_a_message(
    client, case_of, inspector, staff_a, key, state, action, data, message
):
    case = case_of(key)
    if state == "notified":
        if key == "yellow":
            cases.send_reminder(case_id=case.pk, version=case.version, by=inspector)
        else:
            cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    elif state == "closed":
        cases.send_reminder(case_id=case.pk, version=case.version, by=inspector)
        cases.close_case(case_id=case.pk, version=case.version + 1, conclusion="销号", reason="差距已补", by=inspector)
    elif state == "escalated":
        cases.escalate(case_id=case.pk, version=case.version, reason="问责", by=inspector)
    before = snapshot(case)
    assert before[0] == state

    step = cases.STEPS_BY_NAME[action]
    response = act(as_user(client, inspector if step.by_office else staff_a), case, action, **data)
    assert response.status_code == 400
    assert message in errors_of(response)
    assert snapshot(case) == before


def test_an_owner_cannot_answer_an_open_or_closed_case(client, case_of, inspector, staff_a):
    case = case_of("yellow")
    before = snapshot(case)
    response = act(as_user(client, staff_a), case, "answer", text="说明", catch_up="措施")
    assert response.status_code == 400
    assert "reminder or the supervision letter first" in errors_of(response)
    assert snapshot(case) == before
    case = bring(case, "closed", inspector, staff_a)
    before = snapshot(case)
    response = act(as_user(client, staff_a), case, "answer", text="说明", catch_up="措施")
    assert response.status_code == 400
    assert "does not apply now" in errors_of(response)
    assert snapshot(case) == before


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("answer", {"text": "  ", "catch_up": "措施"}, "Write the explanation."),
        ("answer", {"text": "说明", "catch_up": " "}, "Write the catch-up measure."),
        ("plan", {"text": "计划", "responsible": "", "target_date": "2026-12-31"}, "Name the person responsible."),
        ("plan", {"text": "计划", "responsible": "甲", "target_date": "2020-01-01"}, "today or later"),
        ("plan", {"text": "计划", "responsible": "甲", "target_date": "someday"}, "Enter a valid date"),
        ("plan", {"text": " ", "responsible": "甲", "target_date": "2026-12-31"}, "Write the rectification measures."),
    ],
)
def test_a_rectification_with_a_missing_part_changes_nothing(client, case_of, inspector, staff_a, action, data, field):
    case = bring(case_of("yellow" if action == "answer" else "red"), "notified", inspector, staff_a)
    if data.get("target_date") == "2026-12-31":
        data = {**data, "target_date": in_two_weeks().isoformat()}
    before = snapshot(case)
    response = act(as_user(client, staff_a), case, action, **data)
    assert response.status_code == 400
    assert field in errors_of(response)
    assert snapshot(case) == before
    assert not case.rectifications.exists()


@pytest.mark.parametrize("when", ["2020-05-20T09:30", "9999-05-20T09:30", "yesterday", "an hour ago", "in two years"])
def test_an_interview_is_held_from_today_to_a_year_ahead(client, case_of, inspector, when):
    case = case_of("red")
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    before = snapshot(case)
    at = {
        "yesterday": typed(interview_time(-1)),
        "an hour ago": typed(timezone.now() - datetime.timedelta(hours=1)),
        "in two years": typed(interview_time(730)),
    }.get(when, when)
    response = act(as_user(client, inspector), case, "interview", at=at, place="纪检室")
    assert response.status_code == 400
    assert "Choose a day from today to" in errors_of(response)
    assert snapshot(case) == before  # no numbered notice for it either


def test_an_interview_needs_a_time_and_a_place(client, case_of, inspector):
    case = case_of("red")
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    before = snapshot(case)
    response = act(as_user(client, inspector), case, "interview", at=typed(interview_time()), place="")
    assert response.status_code == 400
    assert "time and place" in errors_of(response)
    response = act(client, case, "interview", at="", place="纪检室")
    assert response.status_code == 400
    assert "time and place" in errors_of(response)
    assert snapshot(case) == before


# --- stale edits ------------------------------------------------------------------------


def test_a_stale_version_is_refused_with_who_changed_it_and_when(client, case_of, inspector, staff_a):
    case = case_of("yellow")
    stale_version = case.version
    cases.send_reminder(case_id=case.pk, version=case.version, by=inspector)
    before = snapshot(case)

    response = as_user(client, staff_a).post(
        case_url(case), {"action": "answer", "version": stale_version, "text": "说明", "catch_up": "措施"}
    )
    assert response.status_code == 400
    case.refresh_from_db()
    with translation.override("en"):
        when = formats.date_format(timezone.localtime(case.updated_at), "SHORT_DATETIME_FORMAT")
    message = errors_of(response)
    assert "inspector changed this at" in message
    assert when in message
    assert snapshot(case) == before


def test_the_service_raises_stale_edit_for_an_old_version(case_of, inspector):

    case = case_of("red")
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    with pytest.raises(StaleEdit):
        cases.escalate(case_id=case.pk, version=case.version, reason="问责", by=inspector)
    assert FollowUp.objects.get(pk=case.pk).state == FollowUp.State.NOTIFIED


# --- permissions ------------------------------------------------------------------------


INSPECTOR_STEPS = [
    ("reminder", "yellow", {}),
    ("supervision", "red", {}),
    ("escalate", "red", {"reason": "问责"}),
    ("close", "yellow", {"conclusion": "结案"}),
]


@pytest.mark.parametrize("who", ["staff_a", "colleague_a", "leader_a", "leadership"])
@pytest.mark.parametrize(("action", "key", "data"), INSPECTOR_STEPS)
def test_only_inspectors_act_on_cases(client, request, case_of, who, action, key, data):
    case = case_of(key)
    before = snapshot(case)
    response = act(as_user(client, request.getfixturevalue(who)), case, action, **data)
    assert response.status_code == 403
    assert snapshot(case) == before


@pytest.mark.parametrize("who", ["staff_a", "leader_a", "leadership"])
def test_only_inspectors_schedule_and_record_interviews(client, request, case_of, inspector, who):
    case = case_of("red")
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    before = snapshot(case)
    client = as_user(client, request.getfixturevalue(who))
    assert act(client, case, "interview", at=typed(interview_time()), place="纪检室").status_code == 403
    assert snapshot(case) == before
    case = advance(case, "interview_scheduled", inspector, None)
    before = snapshot(case)
    assert act(client, case, "record", record="记录").status_code == 403
    assert snapshot(case) == before


def test_the_service_refuses_a_non_inspector(case_of, leadership):
    case = case_of("red")
    with pytest.raises(PermissionDenied):
        cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=leadership)
    assert not Letter.objects.filter(case=case).exists()


@pytest.mark.parametrize("who", ["inspector", "leader_a", "leadership", "staff_b"])
def test_only_the_owner_and_the_departments_staff_write_the_rectification(client, request, case_of, inspector, who):
    case = case_of("yellow")
    cases.send_reminder(case_id=case.pk, version=case.version, by=inspector)
    before = snapshot(case)
    response = act(as_user(client, request.getfixturevalue(who)), case, "answer", text="说明", catch_up="措施")
    # Another department's staff do not even see the case.
    assert response.status_code == (404 if who == "staff_b" else 403)
    assert snapshot(case) == before


VISIBILITY = [
    # (user, sees department A's cases, sees department B's case)
    ("inspector", True, True),
    ("leadership", True, True),
    ("staff_a", True, False),
    ("colleague_a", True, False),
    ("leader_a", True, False),
    ("staff_b", False, True),
    ("leader_b", False, True),
    ("no_role", False, False),
]


@pytest.mark.parametrize(("who", "sees_a", "sees_b"), VISIBILITY)
def test_who_sees_which_case(client, request, case_of, who, sees_a, sees_b):
    client = as_user(client, request.getfixturevalue(who))
    for key in ("yellow", "red"):
        assert client.get(case_url(case_of(key))).status_code == (200 if sees_a else 404)
    assert client.get(case_url(case_of("red_b"))).status_code == (200 if sees_b else 404)


def test_another_departments_staff_get_404_when_posting(client, case_of, staff_b):
    case = case_of("yellow")
    before = snapshot(case)
    assert act(as_user(client, staff_b), case, "reminder").status_code == 404
    assert snapshot(case) == before


@pytest.mark.parametrize(("who", "sees"), [(w, a) for w, a, _b in VISIBILITY])
def test_a_cases_letters_are_visible_to_whoever_may_see_the_case(client, request, case_of, inspector, who, sees):
    case = case_of("red")
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    letter = Letter.objects.get(case=case)
    response = as_user(client, request.getfixturevalue(who)).get(f"/reviews/letters/{letter.pk}/")
    assert response.status_code == (200 if sees else 404)
    if sees:
        assert 'id="letter"' in response.content.decode()


def test_the_case_page_shows_the_inspector_steps_only_to_inspectors(client, case_of, staff_a, inspector):
    case = case_of("yellow")
    html = as_user(client, staff_a).get(case_url(case)).content.decode()
    assert 'id="step-reminder"' not in html and 'id="step-answer"' not in html
    html = as_user(client, inspector).get(case_url(case)).content.decode()
    assert 'id="step-reminder"' in html and 'id="step-escalate"' in html
    cases.send_reminder(case_id=case.pk, version=case.version, by=inspector)
    html = as_user(client, staff_a).get(case_url(case)).content.decode()
    assert 'id="step-answer"' in html and 'id="step-close"' not in html


def bring(case, state, inspector, owner):
    """Bring a yellow or red case to `state` through the services."""
    if case.kind == FollowUp.Kind.SUPERVISION and state not in ("closed", "escalated"):
        return advance(case, state, inspector, owner)
    if state == "escalated":
        cases.escalate(case_id=case.pk, version=case.version, reason="问责", by=inspector)
    elif state != "open":
        cases.send_reminder(case_id=case.pk, version=case.version, by=inspector)
        case.refresh_from_db()
        if state == "rectifying":
            cases.submit_answer(case_id=case.pk, version=case.version, text="说明", catch_up="措施", by=owner)
        elif state == "closed":
            cases.close_case(case_id=case.pk, version=case.version, conclusion="销号", reason="差距已补", by=inspector)
    case.refresh_from_db()
    assert case.state == state
    return case


# The steps each side may take on a case, in each state: the case page offers these and no
# other, and each step's service refuses every other moment (the wrong-order tests above).
STEPS_BY_STATE = [
    ("yellow", "open", ["reminder", "escalate"], []),
    ("yellow", "notified", ["close", "escalate"], ["answer"]),
    # The answer awaits review: the inspector reviews it (beside it, not as a card); nothing
    # more for the owner to submit meanwhile.
    ("yellow", "rectifying", ["review", "close", "escalate"], []),
    ("yellow", "closed", [], []),
    # Escalated: the office records the decision, or asks the leadership to exempt (容错).
    ("yellow", "escalated", ["decide", "exempt"], []),
    ("red", "open", ["supervision", "escalate"], []),
    ("red", "notified", ["interview", "close", "escalate"], ["plan"]),
    ("red", "interview_scheduled", ["interview", "record", "escalate"], ["plan"]),
    ("red", "interviewed", ["close", "escalate"], ["plan"]),
    # The plan awaits review; the owner may already report on it.
    ("red", "rectifying", ["interview", "review", "close", "escalate"], ["report"]),
]


def offered(response):
    return re.findall(r'<form method="post" class="card case-step" id="step-(\w+)"', response.content.decode())


@pytest.mark.parametrize(("key", "state", "office", "owner_side"), STEPS_BY_STATE)
def test_each_side_is_offered_exactly_the_steps_of_the_cases_state(
    client, case_of, inspector, staff_a, colleague_a, leader_a, leadership, key, state, office, owner_side
):
    case = bring(case_of(key), state, inspector, staff_a)
    assert [step.name for step in cases.available_steps(case, inspector)] == office
    assert [step.name for step in cases.available_steps(case, staff_a)] == owner_side
    page = as_user(client, inspector).get(case_url(case))
    assert offered(page) == [name for name in office if name != "review"]
    assert ('name="decision" value="return"' in page.content.decode()) == ("review" in office)
    assert offered(as_user(client, colleague_a).get(case_url(case))) == owner_side
    for onlooker in (leader_a, leadership):
        assert offered(as_user(client, onlooker).get(case_url(case))) == []


@pytest.mark.parametrize(("key", "state", "office", "owner_side"), STEPS_BY_STATE)
def test_a_step_not_offered_is_refused_by_its_service(
    case_of, inspector, staff_a, leadership, key, state, office, owner_side
):
    case = bring(case_of(key), state, inspector, staff_a)
    for step in cases.STEPS:
        user = leadership if step.by_leadership else inspector if step.by_office else staff_a
        if step.by_leadership:
            assert not step.applies_to(case)  # an exemption is decided only once asked for (tested apart)
        if step.name in (office if step.by_office else owner_side):
            continue
        with pytest.raises(ValidationError):
            step.service(case_id=case.pk, by=user, **STEP_FIELDS[step.name], version=case.version)
        assert FollowUp.objects.get(pk=case.pk).version == case.version


STEP_FIELDS = {
    "reminder": {},
    "supervision": {},
    "interview": {
        "at": interview_time(),
        "place": "纪检室",
        "participants": "",
    },
    "record": {"record": "记录"},
    "plan": {"text": "计划", "responsible": "责任人", "target_date": datetime.date(2099, 1, 1)},
    "report": {"text": "报告"},
    "answer": {"text": "说明", "catch_up": "措施"},
    "review": {"rectification": 0, "decision": "accept", "comment": ""},
    "close": {"conclusion": "结案", "reason": "理由"},
    "escalate": {"reason": "问责"},
    "decide": {"decision": "通报批评"},
    "exempt": {"objective_cause": "原因", "reason": "理由"},
    "approve_exemption": {"comment": ""},
    "refuse_exemption": {"comment": "不同意"},
}


def test_the_inspector_reads_and_edits_the_letter_before_it_goes(client, case_of, inspector):
    case = case_of("red")
    page = as_user(client, inspector).get(case_url(case)).content.decode()
    step = page.split('id="step-supervision"')[1].split("</form>")[0]
    assert "scored 45.0% and was lit red" in step  # the standard text, to read before issuing
    response = act(client, case, "supervision", text="经领导小组研究，请于十日内书面说明滞后原因。")
    assert response.status_code == 302
    letter = Letter.objects.get(case=case)
    page = client.get(f"/reviews/letters/{letter.pk}/").content.decode()
    assert "经领导小组研究，请于十日内书面说明滞后原因。" in page and "was lit red" not in page


def test_each_step_says_what_it_did(client, case_of, inspector):
    case = case_of("red")
    response = act(as_user(client, inspector), case, "supervision")
    page = client.get(response.url).content.decode()
    assert "Supervision letter 纪督〔2026〕1号 issued to the owner and the department." in page


def primaries(page):
    return dict(re.findall(r'id="step-(\w+)".*?<button type="submit"( class="primary")?>', page, re.S))


def test_closing_and_escalating_are_not_the_primary_button(client, case_of, inspector):
    case = case_of("yellow")
    page = as_user(client, inspector).get(case_url(case)).content.decode()
    assert primaries(page) == {"reminder": ' class="primary"', "escalate": ""}


def test_once_an_interview_is_scheduled_recording_it_is_the_way_forward(client, case_of, inspector, staff_a):
    case = bring(case_of("red"), "interview_scheduled", inspector, staff_a)
    page = as_user(client, inspector).get(case_url(case)).content.decode()
    assert primaries(page) == {"interview": "", "record": ' class="primary"', "escalate": ""}


def test_an_unknown_action_is_404(client, case_of, inspector):
    assert act(as_user(client, inspector), case_of("yellow"), "delete").status_code == 404


@pytest.mark.parametrize("path", ["/reviews/followups/", "case", "letter"])
def test_anonymous_users_go_to_the_login_page(client, case_of, inspector, path):
    case = case_of("red")
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    url = {"case": case_url(case), "letter": f"/reviews/letters/{Letter.objects.get(case=case).pk}/"}.get(path, path)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    response = client.post(case_url(case), {"action": "escalate", "version": 1, "reason": "问责"})
    assert response.status_code == 302
    assert FollowUp.objects.get(pk=case.pk).state == FollowUp.State.NOTIFIED


# --- the serious flag --------------------------------------------------------------------


@pytest.fixture
def tasks_for_seriousness(year, department_a, staff_a):
    return {
        name: KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=name)
        for name in ("甲", "乙", "丙")
    }


def run_meeting(year, number, scores, by):
    """Open, rate and close the meeting of stage `number`; return the ratings by task title."""
    meeting = open_meeting(stage_of(year, number), by)
    for task, score in scores.items():
        rate(meeting, task, score, by)
    close(meeting, by)
    return {r.task.title: r for r in Rating.objects.filter(meeting=meeting).select_related("task")}


def case_for(rating):
    return FollowUp.objects.get(rating=rating)


def test_a_final_score_below_30_is_serious(year, leadership, tasks_for_seriousness):
    t = tasks_for_seriousness
    ratings = run_meeting(year, 2, {t["甲"]: 25, t["乙"]: 30, t["丙"]: 90}, leadership)
    serious = case_for(ratings["甲"])
    assert serious.serious is True
    assert serious.serious_reason
    assert case_for(ratings["乙"]).serious is False  # 30 is not below 30
    assert case_for(ratings["乙"]).serious_reason == ""


def test_the_serious_reason_names_the_threshold(year, leadership, tasks_for_seriousness):
    t = tasks_for_seriousness
    with translation.override("en"):
        ratings = run_meeting(year, 2, {t["甲"]: 25, t["乙"]: 90, t["丙"]: 90}, leadership)
    assert case_for(ratings["甲"]).serious_reason == "Final score below 30."


def test_red_at_the_previous_meeting_and_red_again_is_serious(year, leadership, tasks_for_seriousness):
    t = tasks_for_seriousness
    run_meeting(year, 1, {t["甲"]: 45, t["乙"]: 70, t["丙"]: 45}, leadership)
    ratings = run_meeting(year, 2, {t["甲"]: 50, t["乙"]: 50, t["丙"]: 70}, leadership)
    red_twice = case_for(ratings["甲"])
    assert red_twice.serious is True and red_twice.serious_reason
    # Red now but yellow before: not serious.
    assert case_for(ratings["乙"]).serious is False
    # Yellow now after red before: not serious either (the rule is about red twice).
    assert case_for(ratings["丙"]).serious is False


def test_the_red_twice_rule_can_be_switched_off_for_the_year(year, leadership, tasks_for_seriousness):
    year.serious_when_red_twice = False
    year.save()
    t = tasks_for_seriousness
    run_meeting(year, 1, {t["甲"]: 45, t["乙"]: 90, t["丙"]: 90}, leadership)
    ratings = run_meeting(year, 2, {t["甲"]: 50, t["乙"]: 90, t["丙"]: 90}, leadership)
    assert case_for(ratings["甲"]).serious is False


def test_the_red_twice_rule_looks_at_the_previous_stage_only(year, leadership, tasks_for_seriousness):
    t = tasks_for_seriousness
    run_meeting(year, 1, {t["甲"]: 45, t["乙"]: 90, t["丙"]: 90}, leadership)
    run_meeting(year, 2, {t["甲"]: 90, t["乙"]: 90, t["丙"]: 90}, leadership)
    ratings = run_meeting(year, 3, {t["甲"]: 50, t["乙"]: 90, t["丙"]: 90}, leadership)
    assert case_for(ratings["甲"]).serious is False


@pytest.mark.parametrize(("serious_below", "expected"), [(30, False), (40, True)])
def test_the_years_serious_threshold_decides(year, leadership, tasks_for_seriousness, serious_below, expected):
    year.serious_below = Decimal(serious_below)
    year.save()
    t = tasks_for_seriousness
    ratings = run_meeting(year, 2, {t["甲"]: 35, t["乙"]: 90, t["丙"]: 90}, leadership)
    case = case_for(ratings["甲"])
    assert case.serious is expected
    assert bool(case.serious_reason) is expected


def test_the_serious_flag_shows_on_the_case_page_and_the_supervision_letter(
    client, year, leadership, inspector, tasks_for_seriousness
):
    t = tasks_for_seriousness
    ratings = run_meeting(year, 2, {t["甲"]: 20, t["乙"]: 90, t["丙"]: 90}, leadership)
    case = case_for(ratings["甲"])
    client = as_user(client, inspector)
    html = client.get(case_url(case)).content.decode()
    assert 'class="serious"' in html
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    letter = Letter.objects.get(case=case)
    assert 'class="serious"' in client.get(f"/reviews/letters/{letter.pk}/").content.decode()
