"""整改: the owner's side answers a case and the inspector reviews it; a case is closed (销号) on
an accepted rectification or with the inspector's stated reason. Through the case page."""

import datetime
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from outbox.models import Notification
from reviews import cases
from reviews.models import CaseEvent, FollowUp, Rectification, RectificationFile
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, english, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def red_case(year, department_a, staff_a, leadership, inspector):
    """A red case whose supervision letter went out."""
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="新产线投产")
    meeting = open_meeting(stage_of(year, 2), leadership)
    rate(meeting, task, 45, leadership)
    close(meeting, leadership)
    case = FollowUp.objects.get()
    return cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)


def post(client, user, case, action, **data):
    client.force_login(user)
    english(client)
    case.refresh_from_db()
    return client.post(f"/reviews/followups/{case.pk}/", {"action": action, "version": case.version, **data})


def a_plan(client, staff_a, case):
    later = (timezone.localdate() + datetime.timedelta(days=20)).isoformat()
    response = post(client, staff_a, case, "plan", text="倒排工期", responsible="staff_a", target_date=later)
    assert response.status_code == 302
    return case.rectifications.get(kind="plan")


def stored_files(media):
    return sorted(path.name for path in media.rglob("*") if path.is_file())


def test_a_report_carries_evidence_that_those_who_see_the_case_download(
    client, red_case, staff_a, staff_b, inspector, leader_a, media
):
    a_plan(client, staff_a, red_case)
    files = [
        SimpleUploadedFile("整改报告.pdf", b"%PDF-1.4 report", content_type="application/pdf"),
        SimpleUploadedFile("现场照片.png", b"\x89PNG\r\n\x1a\n photo", content_type="image/png"),
    ]
    response = post(client, staff_a, red_case, "report", text="已投产", files=files)
    assert response.status_code == 302
    report = red_case.rectifications.get(kind="report")
    names = [file.original_name for file in report.files.all()]
    assert names == ["整改报告.pdf", "现场照片.png"]
    evidence = report.files.get(original_name="整改报告.pdf")
    for user, status in ((staff_a, 200), (inspector, 200), (leader_a, 200), (staff_b, 404)):
        client.force_login(user)
        response = client.get(f"/reviews/rectification-files/{evidence.pk}/")
        assert response.status_code == status
        if status == 200:
            assert b"".join(response.streaming_content) == b"%PDF-1.4 report"
    client.force_login(inspector)
    page = client.get(f"/reviews/followups/{red_case.pk}/").content.decode()
    assert "整改报告.pdf" in page and f"/reviews/rectification-files/{evidence.pk}/" in page


def test_a_report_with_a_disguised_file_changes_nothing_and_stores_nothing(client, red_case, staff_a, media):
    a_plan(client, staff_a, red_case)
    before = (red_case.rectifications.count(), CaseEvent.objects.count(), stored_files(media))
    fake = SimpleUploadedFile("报告.pdf", b"MZ\x90\x00 an executable", content_type="application/pdf")
    response = post(client, staff_a, red_case, "report", text="已投产", files=[fake])
    assert response.status_code == 400
    assert "is not really a .pdf file" in response.content.decode()
    assert (red_case.rectifications.count(), CaseEvent.objects.count(), stored_files(media)) == before
    assert not RectificationFile.objects.exists()


def test_a_report_that_fails_after_its_files_were_stored_leaves_no_file_behind(red_case, staff_a, media, monkeypatch):
    case = red_case
    cases.submit_plan(
        case_id=case.pk,
        version=case.version,
        text="计划",
        responsible="甲",
        target_date=timezone.localdate(),
        by=staff_a,
    )
    case.refresh_from_db()

    def refuse(*args, **kwargs):
        raise RuntimeError("the database went away after the files were written")

    monkeypatch.setattr(cases, "_record_step", refuse)
    upload = SimpleUploadedFile("报告.pdf", b"%PDF-1.4 report", content_type="application/pdf")
    with pytest.raises(RuntimeError):
        cases.submit_report(case_id=case.pk, version=case.version, text="报告", files=[upload], by=staff_a)
    assert not RectificationFile.objects.exists()
    assert not Rectification.objects.filter(kind="report").exists()
    assert not any(path.is_file() for path in media.rglob("*")), os.listdir(media)


@pytest.mark.parametrize("who", ["staff_a", "colleague_a", "leader_a", "leadership"])
def test_only_inspectors_accept_or_return(client, request, red_case, staff_a, who):
    plan = a_plan(client, staff_a, red_case)
    response = post(client, request.getfixturevalue(who), red_case, "review", rectification=plan.pk, decision="accept")
    assert response.status_code == 403
    plan.refresh_from_db()
    assert plan.state == "submitted" and plan.reviewed_by is None


def test_returning_needs_a_comment_next_to_the_field(client, red_case, staff_a, inspector):
    plan = a_plan(client, staff_a, red_case)
    response = post(client, inspector, red_case, "review", rectification=plan.pk, decision="return", comment=" ")
    assert response.status_code == 400
    html = response.content.decode()
    form = html.split(f'id="rectification-{plan.pk}"')[1].split("</form>")[0]
    assert '<p class="field-error">Say what is missing' in form
    plan.refresh_from_db()
    assert plan.state == "submitted"
    assert not Notification.objects.filter(kind="rectification_returned").exists()


def test_a_rectification_of_another_case_or_already_reviewed_is_refused(
    client, red_case, staff_a, inspector, year, department_a, leadership
):
    plan = a_plan(client, staff_a, red_case)
    assert post(client, inspector, red_case, "review", rectification=plan.pk, decision="accept").status_code == 302
    # Accepted once; a second decision (say, from a page opened before) changes nothing.
    later = a_plan_report(client, staff_a, red_case)
    response = post(client, inspector, red_case, "review", rectification=plan.pk, decision="return", comment="重写")
    assert response.status_code == 400
    assert "already Accepted" in response.content.decode()
    plan.refresh_from_db()
    assert plan.state == "accepted"
    assert later.state == "submitted"


def a_plan_report(client, staff_a, case):
    assert post(client, staff_a, case, "report", text="进展").status_code == 302
    return case.rectifications.get(kind="report")


def test_closing_without_an_accepted_report_needs_a_reason_which_stays_on_record(client, red_case, staff_a, inspector):
    plan = a_plan(client, staff_a, red_case)
    post(client, inspector, red_case, "review", rectification=plan.pk, decision="accept")
    report = a_plan_report(client, staff_a, red_case)  # submitted, not yet reviewed
    # What awaits review is reviewed first, whichever way the case closes.
    response = post(client, inspector, red_case, "close", conclusion="结案", reason="不再适用")
    assert response.status_code == 400
    assert "Accept or return what awaits review before closing the case." in response.content.decode()
    post(client, inspector, red_case, "review", rectification=report.pk, decision="return", comment="不完整")
    response = post(client, inspector, red_case, "close", conclusion="结案")
    assert response.status_code == 400
    assert "No rectification of this case is accepted" in response.content.decode()
    red_case.refresh_from_db()
    assert red_case.state == "rectifying"

    reason = "任务已按集团决定调整，整改不再适用"
    response = post(client, inspector, red_case, "close", conclusion="结案", reason=reason)
    assert response.status_code == 302
    red_case.refresh_from_db()
    assert (red_case.state, red_case.closed_unaccepted_reason) == ("closed", reason)
    assert reason in CaseEvent.objects.filter(case=red_case).last().note
    client.force_login(staff_a)
    page = client.get(f"/reviews/followups/{red_case.pk}/").content.decode()
    assert reason in page


def test_once_the_report_is_accepted_the_close_form_asks_for_no_reason(client, red_case, staff_a, inspector):
    plan = a_plan(client, staff_a, red_case)
    post(client, inspector, red_case, "review", rectification=plan.pk, decision="accept")
    report = a_plan_report(client, staff_a, red_case)
    client.force_login(inspector)
    page = client.get(f"/reviews/followups/{red_case.pk}/").content.decode()
    assert 'id="close-reason"' in page
    post(client, inspector, red_case, "review", rectification=report.pk, decision="accept")
    page = client.get(f"/reviews/followups/{red_case.pk}/").content.decode()
    assert 'id="close-reason"' not in page
    # A reason sent anyway is not recorded: the case closed on its accepted report.
    assert post(client, inspector, red_case, "close", conclusion="销号", reason="多余").status_code == 302
    red_case.refresh_from_db()
    assert red_case.closed_unaccepted_reason == ""


def test_a_returned_plan_is_kept_and_the_owner_submits_a_new_one(client, red_case, staff_a, inspector):
    plan = a_plan(client, staff_a, red_case)
    post(client, inspector, red_case, "review", rectification=plan.pk, decision="return", comment="缺少时间节点")
    client.force_login(staff_a)
    page = client.get(f"/reviews/followups/{red_case.pk}/").content.decode()
    assert "缺少时间节点" in page and 'id="step-plan"' in page and 'id="step-report"' not in page
    later = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    assert (
        post(client, staff_a, red_case, "plan", text="新方案", responsible="甲", target_date=later).status_code == 302
    )
    assert list(red_case.rectifications.values_list("state", flat=True)) == ["returned", "submitted"]


def test_the_queue_shows_what_awaits_the_inspectors_review(client, red_case, staff_a, inspector):
    client.force_login(inspector)
    english(client)
    assert "to review" not in client.get("/reviews/followups/").content.decode()
    plan = a_plan(client, staff_a, red_case)
    a_plan_report(client, staff_a, red_case)
    client.force_login(inspector)
    assert "2 to review" in client.get("/reviews/followups/").content.decode()
    post(client, inspector, red_case, "review", rectification=plan.pk, decision="accept")
    assert "1 to review" in client.get("/reviews/followups/").content.decode()


def test_a_case_started_again_by_an_amendment_is_answered_anew(client, red_case, staff_a, inspector, leadership):
    from reviews import services as review_services
    from reviews.models import Rating

    plan = a_plan(client, staff_a, red_case)
    post(client, inspector, red_case, "review", rectification=plan.pk, decision="accept")
    report = a_plan_report(client, staff_a, red_case)
    post(client, inspector, red_case, "review", rectification=report.pk, decision="accept")
    assert post(client, inspector, red_case, "close", conclusion="销号").status_code == 302
    rating = Rating.objects.get(pk=red_case.rating_id)
    review_services.amend_rating(
        rating_id=rating.pk, version=rating.version, final_score=40, reason="复核", by=leadership
    )
    red_case.refresh_from_db()
    assert red_case.state == "open"
    assert set(red_case.rectifications.values_list("state", flat=True)) == {"superseded"}
    assert not cases.is_rectified(red_case)
    # A new round, a new numbered letter: the earlier one stays with the case.
    red_case = cases.issue_supervision_letter(case_id=red_case.pk, version=red_case.version, by=inspector)
    assert list(red_case.letters.values_list("sequence", flat=True)) == [2, 1]
    # The earlier round's accepted plan does not count: a new plan first, then a new report.
    assert [step.name for step in cases.available_steps(red_case, staff_a)] == ["plan"]


def test_a_deputy_inspector_hears_of_a_submission_on_the_absent_inspectors_case(
    client, red_case, staff_a, inspector, second_inspector, settings
):
    from tasks.models import Deputy

    today = timezone.localdate()
    Deputy.objects.create(
        principal=inspector, deputy=second_inspector, role="discipline_inspector", starts=today, ends=today
    )
    a_plan(client, staff_a, red_case)
    told = Notification.objects.filter(kind="rectification_submitted")
    assert sorted(told.values_list("recipient__username", flat=True)) == ["inspector", "inspector2"]


def test_what_was_submitted_before_an_escalation_is_still_reviewed(client, red_case, staff_a, inspector):
    plan = a_plan(client, staff_a, red_case)
    assert post(client, inspector, red_case, "escalate", reason="屡督不改").status_code == 302
    assert post(client, inspector, red_case, "review", rectification=plan.pk, decision="accept").status_code == 302
    plan.refresh_from_db()
    assert plan.state == "accepted"
