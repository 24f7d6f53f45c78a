"""Discussions of a task and of a case: comments, @mentions, edits that keep the earlier text,
the leadership's instructions (批示) at the top of the task and in the next meeting's minutes;
and the pages that show them run a fixed number of queries."""

import datetime
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lightboard.roles import Role
from outbox.models import Notification
from reviews import cases
from reviews.models import FollowUp
from tasks import services
from tasks.models import AuditEntry, Comment, CommentRevision, Department, SelfAssessment
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, english, open_meeting, rate, stage_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(year, department_a, staff_a):
    return KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="新产线投产")


@pytest.fixture
def chair(db):
    return make_user("chen", Role.LEADERSHIP, name="陈志远")


def page_of(client, user, url):
    client.force_login(user)
    english(client)
    return client.get(url).content.decode()


def say(client, user, url, text, **extra):
    client.force_login(user)
    english(client)
    return client.post(url, {"action": "comment", "text": text, **extra})


# --- a task's discussion ----------------------------------------------------------------------


def test_staff_comment_on_a_task_and_it_shows_on_its_page(client, task, staff_a, leader_a):
    url = f"/tasks/{task.pk}/"
    response = say(client, staff_a, url, "设备已到货，下周调试")
    comment = Comment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{url}#comment-{comment.pk}"
    assert (comment.thread, comment.author, comment.is_instruction) == ("", staff_a, False)
    assert "设备已到货，下周调试" in page_of(client, leader_a, url)


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_comment_is_refused_next_to_the_field(client, task, staff_a, text):
    response = say(client, staff_a, f"/tasks/{task.pk}/", text)
    assert response.status_code == 400
    html = response.content.decode()
    assert '<p class="field-error">Write the comment.</p>' in html.split('id="comment-form"')[1]
    assert not Comment.objects.exists()


def test_a_mention_tells_those_who_may_read_and_names_those_who_may_not(
    client, task, staff_a, leader_a, staff_b, chair
):
    response = say(client, staff_a, f"/tasks/{task.pk}/", "@leader_a 请协调设备厂家；@陈志远，请关注；@staff_b 供参考")
    comment = Comment.objects.get()
    told = Notification.objects.filter(kind="comment_mention")
    assert sorted(told.values_list("recipient__username", flat=True)) == ["chen", "leader_a"]
    assert {n.link for n in told} == {f"/tasks/{task.pk}/#comment-{comment.pk}"}
    assert set(comment.mentioned.all()) == {leader_a, chair}
    # Another department's staff may not read the task: not told, and the author is told so.
    page = client.get(response["Location"]).content.decode()
    assert "Not told (they cannot see this discussion): staff_b" in page


def test_a_mention_written_twice_or_of_oneself_tells_nobody_twice(client, task, staff_a, leader_a):
    say(client, staff_a, f"/tasks/{task.pk}/", "@leader_a @leader_a @staff_a 请看")
    assert list(Notification.objects.filter(kind="comment_mention").values_list("recipient__username", flat=True)) == [
        "leader_a"
    ]


def test_the_author_edits_and_the_earlier_text_stays_in_the_history(client, task, staff_a, colleague_a, leader_a):
    comment = services.post_comment(task=task, by=staff_a, text="下周调试")
    client.force_login(colleague_a)
    assert client.get(f"/tasks/comments/{comment.pk}/edit/").status_code == 403
    assert client.post(f"/tasks/comments/{comment.pk}/edit/", {"text": "改掉"}).status_code == 403
    client.force_login(staff_a)
    english(client)
    response = client.post(f"/tasks/comments/{comment.pk}/edit/", {"text": "本周五调试 @leader_a"})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.text == "本周五调试 @leader_a" and comment.edited_at is not None
    assert list(CommentRevision.objects.values_list("text", flat=True)) == ["下周调试"]
    audit = AuditEntry.objects.get(action="edit comment")
    assert (audit.before, audit.after, audit.task_id) == (
        {"text": "下周调试"},
        {"text": "本周五调试 @leader_a"},
        task.pk,
    )
    # Newly mentioned: told now.
    assert Notification.objects.filter(kind="comment_mention", recipient=leader_a).count() == 1
    html = page_of(client, leader_a, f"/tasks/{task.pk}/")
    assert "Earlier versions" in html and "下周调试" in html and "本周五调试" in html


def test_an_edit_to_nothing_is_refused_and_keeps_the_text(client, task, staff_a):
    comment = services.post_comment(task=task, by=staff_a, text="下周调试")
    client.force_login(staff_a)
    english(client)
    response = client.post(f"/tasks/comments/{comment.pk}/edit/", {"text": " "})
    assert response.status_code == 400
    assert '<p class="field-error">Write the comment.</p>' in response.content.decode()
    comment.refresh_from_db()
    assert comment.text == "下周调试" and not CommentRevision.objects.exists()


# --- 批示 --------------------------------------------------------------------------------------


def test_the_leadership_gives_an_instruction_shown_at_the_top_and_sent_to_the_department(
    client, task, chair, staff_a, colleague_a, leader_a
):
    url = f"/tasks/{task.pk}/"
    assert 'name="instruction"' in page_of(client, chair, url)
    say(client, chair, url, "务必在月底前投产，每周报进度", instruction="on")
    comment = Comment.objects.get()
    assert comment.is_instruction and comment.instructed_by == chair
    told = Notification.objects.filter(kind="instruction")
    assert sorted(told.values_list("recipient__username", flat=True)) == ["colleague_a", "staff_a"]
    html = page_of(client, staff_a, url)
    top = html.split('id="instructions"')[1].split("</section>")[0]
    assert "务必在月底前投产" in top and "陈志远" in top
    assert AuditEntry.objects.filter(action="instruction", task=task).exists()


def test_only_the_leadership_gives_instructions(client, task, staff_a, leader_a, inspector, chair):
    url = f"/tasks/{task.pk}/"
    for user in (staff_a, leader_a, inspector):
        assert 'name="instruction"' not in page_of(client, user, url)
        # The box is not on their form: what they post is a plain comment.
        say(client, user, url, "作为批示？", instruction="on")
        with pytest.raises(PermissionDenied):
            services.post_comment(task=task, by=user, text="批示", instruction=True)
    assert not Comment.objects.filter(is_instruction=True).exists()
    comment = Comment.objects.first()
    client.force_login(staff_a)
    assert client.post(f"/tasks/comments/{comment.pk}/instruct/").status_code == 403
    client.force_login(chair)
    assert client.post(f"/tasks/comments/{comment.pk}/instruct/").status_code == 302
    comment.refresh_from_db()
    assert comment.is_instruction and comment.instructed_by == chair


def test_an_instruction_is_listed_in_the_minutes_of_the_next_meeting_only(
    client, year, task, chair, leadership, inspector
):
    first = open_meeting(stage_of(year, 1), leadership)
    rate(first, task, 90, leadership)
    first = close(first, leadership)
    services.post_comment(task=task, by=chair, text="抓紧落实第二阶段目标", instruction=True)
    second = open_meeting(stage_of(year, 2), leadership)
    rate(second, task, 90, leadership)
    second = close(second, leadership)
    services.post_comment(task=task, by=chair, text="第三阶段再提速", instruction=True)

    first_minutes = page_of(client, inspector, f"/reviews/meetings/{first.pk}/minutes/")
    second_minutes = page_of(client, inspector, f"/reviews/meetings/{second.pk}/minutes/")
    assert "抓紧落实第二阶段目标" not in first_minutes
    listed = second_minutes.split('id="minutes-instructions"')[1].split("</table>")[0]
    assert "抓紧落实第二阶段目标" in listed and "陈志远" in listed and task.title in listed
    assert "第三阶段再提速" not in second_minutes  # given after it closed: the next minutes'
    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/reviews/meetings/{second.pk}/minutes.xlsx").getvalue()), read_only=True
    )
    rows = list(workbook["Instructions"].iter_rows(values_only=True))
    assert rows[1][1:4] == (task.title, "抓紧落实第二阶段目标", "陈志远")


# --- a case's discussion ------------------------------------------------------------------------


@pytest.fixture
def case(year, task, leadership, inspector):
    meeting = open_meeting(stage_of(year, 2), leadership)
    rate(meeting, task, 45, leadership)
    close(meeting, leadership)
    case = FollowUp.objects.get()
    return cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)


def test_a_case_has_its_own_discussion_read_by_those_who_see_the_case(
    client, case, task, staff_a, inspector, department_b
):
    url = f"/reviews/followups/{case.pk}/"
    response = say(client, inspector, url, "@staff_a 请先报送整改方案")
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.thread == f"case:{case.pk}" and comment.task == task
    assert Notification.objects.get(kind="comment_mention").link == f"{url}#comment-{comment.pk}"
    assert "请先报送整改方案" in page_of(client, staff_a, url)
    assert "请先报送整改方案" not in page_of(client, staff_a, f"/tasks/{task.pk}/")
    # Staff of a cooperating department see the task but not its case, nor its discussion.
    helper = make_user("helper_b", Role.STAFF, departments=[department_b])
    task.cooperating_departments.add(department_b)
    client.force_login(helper)
    assert client.get(f"/tasks/{task.pk}/").status_code == 200
    assert client.get(url).status_code == 404
    assert say(client, helper, url, "我也说一句").status_code == 404
    assert client.get(f"/tasks/comments/{comment.pk}/edit/").status_code == 404
    say(client, inspector, url, "@helper_b 请配合")
    assert not Notification.objects.filter(recipient=helper).exists()
    assert Comment.objects.count() == 2


# --- a fixed number of queries whatever the number of comments and reports ----------------------


def _grow(case, inspector, staff_a, chair, n, prefix):
    """n more comments (one edited, one an instruction) and n more reports with a file each."""
    thread = f"case:{case.pk}"
    for number in range(n):
        comment = services.post_comment(task=case.rating.task, thread=thread, by=staff_a, text=f"{prefix}{number}")
        services.edit_comment(comment_id=comment.pk, by=staff_a, text=f"{prefix}{number}（改）")
        services.post_comment(task=case.rating.task, by=chair, text=f"{prefix}批示{number}", instruction=True)
        case.refresh_from_db()
        if not case.rectifications.filter(kind="plan").exists():
            later = timezone.localdate() + datetime.timedelta(days=20)
            cases.submit_plan(case_id=case.pk, version=case.version, text="计划", responsible="甲", target_date=later,
                              by=staff_a)  # fmt: skip
            case.refresh_from_db()
        cases.submit_report(
            case_id=case.pk, version=case.version, text=f"{prefix}报告{number}",
            files=[ContentFile(b"%PDF-1.4 x", name=f"{prefix}{number}.pdf")], by=staff_a,
        )  # fmt: skip
        case.refresh_from_db()
        report = case.rectifications.get(kind="report", state="submitted")
        cases.review_rectification(
            case_id=case.pk, version=case.version, rectification=report.pk, decision="return", comment="补充",
            by=inspector,
        )  # fmt: skip


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_the_case_page_the_queue_and_the_inbox_run_the_same_queries_at_two_sizes(
    client, case, inspector, staff_a, chair, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    seen = {"case": [], "queue": [], "inbox": []}
    for n, prefix in ((1, "a"), (12, "b")):
        _grow(case, inspector, staff_a, chair, n, prefix)
        client.force_login(inspector)
        count, html = _queries(client, f"/reviews/followups/{case.pk}/")
        assert html.count('class="comment"') == case.rectifications.count() - 1  # one comment per report
        seen["case"].append(count)
        seen["queue"].append(_queries(client, "/reviews/followups/")[0])
        client.force_login(staff_a)
        count, html = _queries(client, "/inbox/")
        seen["inbox"].append(count)
    assert Notification.objects.filter(recipient=staff_a).count() > 20
    assert {name: len(set(counts)) for name, counts in seen.items()} == {"case": 1, "queue": 1, "inbox": 1}, seen


def test_an_instruction_is_changed_only_by_whoever_gave_it(client, task, staff_a, chair):
    comment = services.post_comment(task=task, by=staff_a, text="建议每周报一次进度")
    services.mark_instruction(comment_id=comment.pk, by=chair)
    client.force_login(staff_a)
    assert client.post(f"/tasks/comments/{comment.pk}/edit/", {"text": "不用报了"}).status_code == 403
    comment.refresh_from_db()
    assert comment.text == "建议每周报一次进度"
    # Shown as the instruction of whoever gave it.
    top = page_of(client, staff_a, f"/tasks/{task.pk}/").split('id="instructions"')[1].split("</section>")[0]
    assert "陈志远" in top
    given = services.post_comment(task=task, by=chair, text="月底前投产", instruction=True)
    client.force_login(chair)
    assert client.post(f"/tasks/comments/{given.pk}/edit/", {"text": "月底前必须投产"}).status_code == 302


def test_a_case_discussion_stays_with_the_case(client, case, task, chair, staff_a, leader_b, inspector):
    services.post_comment(task=task, thread=f"case:{case.pk}", by=chair, text="约谈时一并问清原因", instruction=True)
    comment = services.post_comment(task=task, thread=f"case:{case.pk}", by=inspector, text="初稿")
    services.edit_comment(comment_id=comment.pk, by=inspector, text="改稿")
    # Another division's leader reads the task (and the minutes) but not the case.
    for url in (f"/tasks/{task.pk}/",):
        html = page_of(client, leader_b, url)
        assert "约谈时一并问清原因" not in html and "初稿" not in html and "改稿" not in html
    assert 'id="instructions"' not in page_of(client, staff_a, f"/tasks/{task.pk}/")
    # On the case page, for those who may see it, the instruction is marked in the discussion.
    html = page_of(client, staff_a, f"/reviews/followups/{case.pk}/")
    assert "约谈时一并问清原因" in html and 'class="comment instruction"' in html


def test_an_instruction_with_a_mention_of_the_owner_tells_them_once(client, task, chair, staff_a):
    services.post_comment(task=task, by=chair, text="@staff_a 月底前投产", instruction=True)
    assert Notification.objects.filter(recipient=staff_a).count() == 1


def test_the_author_is_told_who_was_told_and_which_names_are_nobodys(client, task, staff_a, leader_a):
    response = say(client, staff_a, f"/tasks/{task.pk}/", "@leader_a @陈志 请看")
    page = client.get(response["Location"]).content.decode()
    assert "Told: leader_a" in page and "No one is called @陈志: check the name." in page


def test_the_task_page_runs_the_same_queries_at_two_sizes_with_the_newest_instruction_first(
    client, year, task, staff_a, chair
):
    """More comments, instructions, edits, self-assessed stages and cooperating departments cost
    no more queries on the task's page; its instructions are listed newest first."""
    seen = []
    for n, prefix, stages in ((1, "a", (1,)), (8, "b", (2, 3, 4))):
        for number in stages:
            SelfAssessment.objects.create(task=task, stage=stage_of(year, number), completion=70, state="submitted")
        task.cooperating_departments.add(
            *(Department.objects.create(code=f"{prefix}{m}", name=f"{prefix}配合部门{m}") for m in range(n))
        )
        for number in range(n):
            comment = services.post_comment(task=task, by=staff_a, text=f"{prefix}意见{number}")
            services.edit_comment(comment_id=comment.pk, by=staff_a, text=f"{prefix}意见{number}（改）")
            services.post_comment(task=task, by=chair, text=f"{prefix}批示{number}", instruction=True)
        client.force_login(staff_a)
        count, html = _queries(client, f"/tasks/{task.pk}/")
        seen.append(count)
    assert len(set(seen)) == 1, seen
    cooperating = html.split("配合部门</dt><dd>")[1].split("</dd>")[0]
    assert cooperating == "、".join([f"a配合部门{m}" for m in range(1)] + [f"b配合部门{m}" for m in range(8)])
    top = html.split('id="instructions"')[1].split("</section>")[0]
    assert top.index("b批示7") < top.index("b批示0") < top.index("a批示0")
    assert "a意见0（改）" not in top and "a意见0（改）" in html and "b意见7（改）" in html
