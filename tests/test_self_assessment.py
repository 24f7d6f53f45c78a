"""Staff self-assess a task for a stage: clear messages for bad input, nothing half-saved."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import formats, timezone

from reviews.models import Confirmation, FollowUp, Rating, ReviewMeeting
from tasks import services
from tasks.models import AuditEntry, Evidence, SelfAssessment
from tests.factories import KeyTaskFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def task(year, department_a, staff_a):
    return KeyTaskFactory(year=year, department=department_a, owner=staff_a)


@pytest.fixture
def other_task(year, department_b, staff_b):
    return KeyTaskFactory(year=year, department=department_b, owner=staff_b)


def assess_url(task, number=6):
    return f"/tasks/{task.pk}/stages/{number}/assess/"


def version_on_the_page(task, number):
    """The version the self-assessment form carries when it is opened now (0 before the first save)."""
    assessment = SelfAssessment.objects.filter(task=task, stage__number=number).first()
    return assessment.version if assessment else 0


def post(client, task, number=6, **data):
    data.setdefault("account", "完成了年度检修计划的80%")
    data.setdefault("version", version_on_the_page(task, number))
    return client.post(assess_url(task, number), data)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "请先填写完成度再提交。"),
        ("abc", "请输入 0 到 100 之间的数字"),
        ("-1", "完成度不能小于 0。"),
        ("100.1", "完成度不能大于 100。"),
        ("80.55", "最多保留一位小数"),
        ("1e1", "请输入 0 到 100 之间的数字"),
        ("1_0", "请输入 0 到 100 之间的数字"),
    ],
)
def test_bad_completion_is_told_next_to_the_field_and_nothing_is_saved(client, staff_a, task, raw, message):
    client.force_login(staff_a)
    response = post(client, task, completion=raw, action="submit")
    html = response.content.decode()
    assert response.status_code == 400
    field = html.split('class="field completion-field"')[1].split('class="field"')[0]
    assert message in field
    assert not SelfAssessment.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(("typed", "stored"), [("８２．５", Decimal("82.5")), ("75%", Decimal("75.0"))])
def test_a_score_typed_with_full_width_digits_or_a_percent_sign_is_read(client, staff_a, task, typed, stored):
    client.force_login(staff_a)
    assert post(client, task, completion=typed, action="draft").status_code == 302
    assert SelfAssessment.objects.get().completion == stored


def test_submitting_without_an_account_is_refused(client, staff_a, task):
    client.force_login(staff_a)
    response = post(client, task, completion="75", account="", action="submit")
    assert response.status_code == 400
    assert "请先说明完成情况再提交。" in response.content.decode()
    assert not SelfAssessment.objects.exists()


def test_a_draft_keeps_the_score_and_stays_editable(client, staff_a, task):
    client.force_login(staff_a)
    response = post(client, task, completion="75", action="draft")
    assert response.status_code == 302
    assessment = SelfAssessment.objects.get()
    assert assessment.completion == 75 and assessment.state == "draft"
    page = client.get(assess_url(task)).content.decode()
    assert 'value="75.0"' in page and "黄灯" in page


def test_submitting_records_who_and_when_and_makes_it_read_only(client, staff_a, task):
    client.force_login(staff_a)
    response = post(client, task, completion="82.5", action="submit")
    assert response.status_code == 302 and response.url == "/tasks/mine/"
    assessment = SelfAssessment.objects.get()
    assert assessment.state == "submitted"
    assert assessment.submitted_by == staff_a and assessment.submitted_at is not None
    entry = AuditEntry.objects.get(action="submit self-assessment")
    assert entry.actor == staff_a
    assert entry.after["completion"] == "82.5" and entry.after["state"] == "submitted"
    assert entry.before["state"] == "draft"
    # A second attempt changes nothing.
    response = post(client, task, completion="99", action="submit")
    assert response.status_code == 400
    assert "只读" in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.completion == 82.5


def version_in_form(response):
    match = re.search(r'name="version" value="(\d+)"', response.content.decode())
    assert match, "the self-assessment form carries no version"
    return match.group(1)


def test_of_two_people_editing_one_draft_the_second_is_told_who_changed_it_and_nothing_is_lost(
    client, staff_a, colleague_a, task
):
    colleague = colleague_a
    client.force_login(staff_a)
    post(client, task, completion="60", account="初稿", action="draft")
    other = Client()
    other.force_login(colleague)
    # Both open the draft; the colleague saves first.
    mine = version_in_form(client.get(assess_url(task)))
    theirs = version_in_form(other.get(assess_url(task)))
    assert (
        other.post(
            assess_url(task), {"completion": "70", "account": "同事的修改", "action": "draft", "version": theirs}
        ).status_code
        == 302
    )

    response = client.post(
        assess_url(task), {"completion": "65", "account": "我的修改", "action": "draft", "version": mine}
    )

    assert response.status_code == 400
    saved_at = formats.date_format(timezone.localtime(SelfAssessment.objects.get().updated_at), "SHORT_DATETIME_FORMAT")
    assert f"colleague_a 已于 {saved_at} 修改了此项" in response.content.decode()
    assert f'<a href="{assess_url(task)}">打开最新内容</a>' in response.content.decode()
    assessment = SelfAssessment.objects.get()
    assert (assessment.completion, assessment.account, assessment.updated_by) == (70, "同事的修改", colleague)
    assert AuditEntry.objects.filter(actor=staff_a, after__account="我的修改").count() == 0
    # Reloading shows the colleague's change, and saving from there works.
    page = client.get(assess_url(task))
    assert "同事的修改" in page.content.decode()
    assert (
        client.post(
            assess_url(task),
            {"completion": "65", "account": "合并后", "action": "draft", "version": version_in_form(page)},
        ).status_code
        == 302
    )
    assert SelfAssessment.objects.get().account == "合并后"


def test_a_returned_assessment_can_be_changed_again(client, staff_a, task):
    client.force_login(staff_a)
    post(client, task, completion="50", action="submit")
    SelfAssessment.objects.update(state=SelfAssessment.State.RETURNED)
    response = post(client, task, completion="65", action="submit")
    assert response.status_code == 302
    assert SelfAssessment.objects.get().completion == 65


def test_submitting_after_the_due_date_is_allowed_but_marked_late(client, staff_a, task, year):
    stage = year.stages.get(number=1)
    client.force_login(staff_a)
    post(client, task, number=1, completion="90", action="submit")
    assessment = SelfAssessment.objects.get()
    assert timezone.localdate(assessment.submitted_at) > stage.self_assessment_due
    assert assessment.is_late
    assert "逾期" in client.get(assess_url(task, 1)).content.decode()


def test_submitting_on_time_is_not_late(staff_a, task, year):
    from tasks import services

    stage = year.stages.get(number=6)
    stage.self_assessment_due = timezone.localdate() + datetime.timedelta(days=3)
    stage.save()
    assessment = services.save_self_assessment(
        task=task, stage=stage, by=staff_a, version=0, completion=90, account="done", submit=True
    )
    assert not assessment.is_late


def test_evidence_files_are_kept_and_served_only_to_those_who_may_see_the_task(
    client, staff_a, staff_b, leadership, task, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff_a)
    upload = SimpleUploadedFile("检修报告.pdf", PDF, content_type="application/pdf")
    response = post(client, task, completion="85", account="见附件", action="draft", evidence=[upload])
    assert response.status_code == 302
    evidence = Evidence.objects.get()
    assert evidence.original_name == "检修报告.pdf" and evidence.uploaded_by == staff_a
    download = client.get(f"/tasks/evidence/{evidence.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    client.force_login(leadership)
    assert client.get(f"/tasks/evidence/{evidence.pk}/").status_code == 200
    client.force_login(staff_b)
    assert client.get(f"/tasks/evidence/{evidence.pk}/").status_code == 404


def test_an_exe_renamed_to_pdf_is_refused(client, staff_a, task, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff_a)
    fake = SimpleUploadedFile("report.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200)
    response = post(client, task, completion="85", account="见附件", action="submit", evidence=[fake])
    assert response.status_code == 400
    assert "report.pdf 不是真正的 .pdf 文件。" in response.content.decode()
    assert not SelfAssessment.objects.exists() and not Evidence.objects.exists()
    assert not any(tmp_path.rglob("*.pdf"))


def test_a_20_mb_file_is_refused(client, staff_a, task, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff_a)
    big = io.BytesIO(PDF + b"\x00" * (20 * 1024 * 1024))
    big.name = "big.pdf"
    response = post(client, task, completion="85", account="见附件", action="submit", evidence=big)
    assert response.status_code == 400
    assert "big.pdf 超过 10 MB。" in response.content.decode()
    assert not SelfAssessment.objects.exists() and not Evidence.objects.exists()


def test_an_unaccepted_file_type_is_refused(client, staff_a, task, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff_a)
    script = SimpleUploadedFile("run.exe", b"MZ" + b"\x00" * 50)
    response = post(client, task, completion="85", account="x", action="draft", evidence=[script])
    assert response.status_code == 400
    assert "只接受 PDF" in response.content.decode()
    assert not SelfAssessment.objects.exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("75", "黄灯"),
        ("80", "黄灯"),
        ("80.1", "绿灯"),
        ("60", "黄灯"),
        ("59.9", "红灯"),
        ("0", "红灯"),
        ("100", "绿灯"),
    ],
)
def test_the_light_preview_follows_the_colour_engine(client, staff_a, task, raw, expected):
    client.force_login(staff_a)
    response = client.get(f"/tasks/{task.pk}/light/", {"completion": raw}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<span id="light-preview"')
    assert expected in html and "<html" not in html


def test_the_light_preview_explains_a_bad_value(client, staff_a, task):
    client.force_login(staff_a)
    html = client.get(f"/tasks/{task.pk}/light/", {"completion": "abc"}).content.decode()
    assert "请输入 0 到 100 之间的数字" in html
    assert "light " not in html


def test_the_light_preview_uses_the_years_thresholds(client, staff_a, task, year):
    year.green_above = 90
    year.save()
    client.force_login(staff_a)
    assert "黄灯" in client.get(f"/tasks/{task.pk}/light/", {"completion": "85"}).content.decode()


def test_staff_of_another_department_get_404(client, staff_b, task):
    client.force_login(staff_b)
    assert client.get(assess_url(task)).status_code == 404
    assert post(client, task, completion="90", action="submit").status_code == 404
    assert client.get(f"/tasks/{task.pk}/").status_code == 404
    assert not SelfAssessment.objects.exists()


def test_leaders_can_read_but_not_submit(client, leader_a, leadership, inspector, task):
    for reader in (leader_a, leadership, inspector):
        client.force_login(reader)
        assert client.get(f"/tasks/{task.pk}/").status_code == 200
        page = client.get(assess_url(task))
        assert page.status_code == 200 and 'name="completion"' not in page.content.decode()
        assert post(client, task, completion="90", action="submit").status_code == 403
    assert not SelfAssessment.objects.exists()


def test_task_page_shows_standard_targets_scores_and_history(client, staff_a, leadership, task):
    client.force_login(staff_a)
    post(client, task, completion="59.9", action="submit")
    client.force_login(leadership)
    html = client.get(f"/tasks/{task.pk}/").content.decode()
    assert task.standard in html
    assert "第6阶段目标" in html
    assert "59.9%" in html and "红灯" in html
    history = html.split('id="history"')[1]
    assert "staff_a" in history and "提交自评" in history


def test_the_service_itself_refuses_two_decimals_and_a_bad_file(staff_a, task, year):
    from django.core.exceptions import ValidationError

    from tasks import services

    stage = year.stages.get(number=6)
    with pytest.raises(ValidationError) as error:
        services.save_self_assessment(
            task=task, stage=stage, by=staff_a, version=0, completion=Decimal("80.55"), account="x"
        )
    assert "completion" in error.value.message_dict
    fake = SimpleUploadedFile("report.pdf", b"MZ" + b"\x00" * 100)
    with pytest.raises(ValidationError) as error:
        services.save_self_assessment(
            task=task, stage=stage, by=staff_a, version=0, completion=80, account="x", evidence_files=[fake]
        )
    assert "evidence" in error.value.message_dict
    assert not SelfAssessment.objects.exists()


def test_a_stage_that_has_not_started_cannot_be_assessed(client, staff_a, department_a):
    from tasks import services

    future = services.create_assessment_year(year=timezone.localdate().year + 1)
    task = KeyTaskFactory(year=future, department=department_a, owner=staff_a)
    client.force_login(staff_a)
    response = post(client, task, number=1, completion="50", action="draft")
    assert response.status_code == 400
    assert "第 1 阶段尚未开始。" in response.content.decode()
    assert not SelfAssessment.objects.exists()


def test_a_huge_request_is_refused_before_it_is_read(client, staff_a, task):
    client.force_login(staff_a)
    response = client.generic(
        "POST", assess_url(task), b"x" * 10, content_type="application/octet-stream", CONTENT_LENGTH=str(2 * 1024**3)
    )
    assert response.status_code == 413
    assert "60 MB" in response.content.decode()
    assert not SelfAssessment.objects.exists()


def test_a_missing_evidence_file_answers_404_not_500(client, staff_a, task, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff_a)
    upload = SimpleUploadedFile("a.pdf", PDF)
    post(client, task, completion="85", account="x", action="draft", evidence=[upload])
    evidence = Evidence.objects.get()
    evidence.file.delete(save=False)
    assert client.get(f"/tasks/evidence/{evidence.pk}/").status_code == 404


@pytest.mark.parametrize("stages_assessed", [1, 6])
def test_the_task_page_uses_a_fixed_number_of_queries(
    client, staff_a, leader_a, leadership, task, year, django_assert_max_num_queries, stages_assessed
):
    """Each assessed stage also confirmed, rated red at a closed meeting and followed up, and
    discussed: five comments per stage, one edited, one an instruction (批示)."""
    for stage in year.stages.order_by("number")[:stages_assessed]:
        assessment = SelfAssessment.objects.create(task=task, stage=stage, completion=70, state="confirmed")
        Confirmation.objects.create(assessment=assessment, score=50, confirmed_by=leader_a)
        meeting = ReviewMeeting.objects.create(stage=stage, date=stage.meeting_date, state="closed")
        rating = Rating.objects.create(meeting=meeting, task=task, final_score=50, colour="red")
        FollowUp.objects.create(rating=rating, kind="supervision", due_date=stage.meeting_date)
        for number in range(5):
            comment = services.post_comment(task=task, by=leader_a, text=f"第{stage.number}阶段意见{number}")
            if number == 0:
                services.edit_comment(comment_id=comment.pk, by=leader_a, text=f"第{stage.number}阶段意见（改）")
        services.post_comment(task=task, by=leadership, text=f"第{stage.number}阶段批示", instruction=True)
    client.force_login(staff_a)
    with django_assert_max_num_queries(20):
        html = client.get(f"/tasks/{task.pk}/").content.decode()
    assert html.count("督办") >= stages_assessed
    assert html.count('class="comment"') == 5 * stages_assessed
    # At the top, in the discussion, and on the history (given as an instruction).
    assert html.count("阶段批示") == 3 * stages_assessed


def test_submitting_with_a_bad_score_and_no_account_names_both_at_once(client, staff_a, task):
    client.force_login(staff_a)
    response = post(client, task, completion="100.1", account="", action="submit")
    html = response.content.decode()
    assert response.status_code == 400
    assert "完成度不能大于 100。" in html and "请先说明完成情况再提交。" in html
    assert not SelfAssessment.objects.exists()


# --- evidence files: removed from a draft, never left behind by a failed save ---------------


def test_a_saved_evidence_file_can_be_removed_from_a_draft(
    client, staff_a, task, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff_a)
    post(client, task, completion="85", account="见附件", action="draft", evidence=[SimpleUploadedFile("a.pdf", PDF)])
    evidence = Evidence.objects.get()
    page = client.get(assess_url(task)).content.decode()
    assert f'formaction="/tasks/evidence/{evidence.pk}/remove/"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/tasks/evidence/{evidence.pk}/remove/", {"version": version_on_the_page(task, 6)})

    assert response.status_code == 302 and response.url == assess_url(task)
    assert not Evidence.objects.exists() and not any(tmp_path.rglob("*.pdf"))
    assert AuditEntry.objects.filter(action="remove evidence", actor=staff_a).exists()


def test_evidence_of_a_submitted_assessment_stays(client, staff_a, staff_b, leader_a, task, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(staff_a)
    post(client, task, completion="85", account="见附件", action="submit", evidence=[SimpleUploadedFile("a.pdf", PDF)])
    evidence = Evidence.objects.get()
    remove = {"version": version_on_the_page(task, 6)}
    assert client.post(f"/tasks/evidence/{evidence.pk}/remove/", remove).status_code == 302  # refused: submitted
    client.force_login(leader_a)
    assert client.post(f"/tasks/evidence/{evidence.pk}/remove/", remove).status_code == 403
    client.force_login(staff_b)
    assert client.post(f"/tasks/evidence/{evidence.pk}/remove/", remove).status_code == 404
    assert Evidence.objects.count() == 1 and len(list(tmp_path.rglob("*.pdf"))) == 1


def test_a_save_that_fails_after_storing_its_files_leaves_none_behind(
    staff_a, task, year, settings, tmp_path, monkeypatch
):
    from tasks import services

    settings.MEDIA_ROOT = tmp_path

    def broken(**kwargs):
        raise RuntimeError("the database refused the audit entry")

    monkeypatch.setattr(services, "record_audit", broken)  # fails after the files are written
    with pytest.raises(RuntimeError):
        services.save_self_assessment(
            task=task, stage=year.stages.get(number=6), by=staff_a, version=0, completion=80, account="x",
            evidence_files=[SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("b.pdf", PDF)],
        )  # fmt: skip
    assert not Evidence.objects.exists() and not SelfAssessment.objects.exists()
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_the_task_page_offers_self_assessment_only_where_it_can_still_change(client, staff_a, task, year):
    stages = list(year.stages.order_by("number"))
    SelfAssessment.objects.create(task=task, stage=stages[0], completion=70, state="confirmed")
    SelfAssessment.objects.create(task=task, stage=stages[1], completion=70, state="returned")
    client.force_login(staff_a)
    html = client.get(f"/tasks/{task.pk}/").content.decode()
    rows = html.split('id="stages"')[1].split("<tbody>")[1].split("<tr>")[1:]
    assert ">查看</a>" in rows[0] and ">自评</a>" not in rows[0]
    assert ">自评</a>" in rows[1] and ">自评</a>" in rows[2]


def test_a_stage_that_has_not_begun_offers_no_self_assessment(client, staff_a, department_a):
    from tasks import services

    future = services.create_assessment_year(year=timezone.localdate().year + 1)
    task = KeyTaskFactory(year=future, department=department_a, owner=staff_a)
    client.force_login(staff_a)
    html = client.get(f"/tasks/{task.pk}/").content.decode()
    assert ">自评</a>" not in html
    page = client.get(assess_url(task, 1)).content.decode()
    assert 'name="completion"' not in page  # no form to fill in before the stage begins
