"""Numbered letters: sequential per kind and year without gaps or duplicates (also when two
are issued at once on PostgreSQL), rendered as printable documents; and the commendation
notice a meeting's close sends to everyone."""

import re
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone, translation

from lightboard.roles import Role
from outbox.models import Notification
from reviews import cases
from reviews.letters import issue_letter, take_letter_number
from reviews.models import FollowUp, Letter, LetterCounter, ReviewMeeting
from tasks.models import User
from tests.conftest import make_user
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, english, interview_time, open_meeting, rate, rating_of, stage_of

pytestmark = pytest.mark.django_db


def numbers(kind, year):
    return list(Letter.objects.filter(kind=kind, year=year).order_by("sequence").values_list("sequence", flat=True))


# --- numbering --------------------------------------------------------------------------


def test_numbers_run_per_kind_and_year_without_gaps(inspector):
    for _i in range(3):
        issue_letter(kind=Letter.Kind.SUPERVISION, year=2026, by=inspector)
    for _i in range(2):
        issue_letter(kind=Letter.Kind.REMINDER, year=2026, by=inspector)
    issue_letter(kind=Letter.Kind.SUPERVISION, year=2027, by=inspector)
    issue_letter(kind=Letter.Kind.SUPERVISION, year=2026, by=inspector)

    assert numbers("supervision", 2026) == [1, 2, 3, 4]
    assert numbers("reminder", 2026) == [1, 2]
    assert numbers("supervision", 2027) == [1]
    assert numbers("interview", 2026) == []
    assert LetterCounter.objects.get(kind="supervision", year=2026).last == 4
    assert LetterCounter.objects.get(kind="supervision", year=2027).last == 1


@pytest.mark.parametrize(
    ("kind", "number"),
    [
        ("reminder", "纪提〔2026〕7号"),
        ("supervision", "纪督〔2026〕7号"),
        ("interview", "纪谈〔2026〕7号"),
        ("commendation", "亮表〔2026〕7号"),
    ],
)
def test_the_document_number_carries_the_kind_year_and_sequence(inspector, kind, number):
    LetterCounter.objects.create(kind=kind, year=2026, last=6)
    letter = issue_letter(kind=kind, year=2026, by=inspector)
    assert letter.sequence == 7
    assert letter.number == number


def test_a_rolled_back_letter_gives_its_number_back(inspector):
    issue_letter(kind=Letter.Kind.SUPERVISION, year=2026, by=inspector)
    with pytest.raises(RuntimeError), transaction.atomic():
        issue_letter(kind=Letter.Kind.SUPERVISION, year=2026, by=inspector)
        raise RuntimeError("the transaction fails after the number was taken")
    assert take_letter_number(kind=Letter.Kind.SUPERVISION, year=2026) == 2
    assert numbers("supervision", 2026) == [1]


def test_a_rolled_back_first_letter_of_a_year_gives_number_1_back(inspector):
    with pytest.raises(RuntimeError), transaction.atomic():
        issue_letter(kind=Letter.Kind.REMINDER, year=2028, by=inspector)
        raise RuntimeError
    assert issue_letter(kind=Letter.Kind.REMINDER, year=2028, by=inspector).sequence == 1


# --- letters of cases ----------------------------------------------------------------


@pytest.fixture
def red_tasks(year, department_a, department_b, staff_a, staff_b):
    return [
        KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="新产线投产"),
        KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="应收账款清收"),
        KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="设备大修"),  # yellow
        KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="预算执行分析"),  # green
    ]


@pytest.fixture
def closed_meeting(year, leadership, red_tasks):
    meeting = open_meeting(stage_of(year, 2), leadership)
    for task, score in zip(red_tasks, [45, 20, 70, 92], strict=True):
        rate(meeting, task, score, leadership, decision=f"处理意见：{task.title}")
    return close(meeting, leadership)


@pytest.fixture
def red_cases(closed_meeting, red_tasks):
    return [FollowUp.objects.get(rating=rating_of(closed_meeting, task)) for task in red_tasks[:2]]


@pytest.fixture
def yellow_case(closed_meeting, red_tasks):
    return FollowUp.objects.get(rating=rating_of(closed_meeting, red_tasks[2]))


def test_a_failure_after_numbering_inside_a_step_does_not_consume_a_number(monkeypatch, red_cases, inspector):
    first, second = red_cases

    def broken(**kwargs):
        raise RuntimeError("the outbox refused the message")

    # The letter has its number when the outbox fails: the whole step rolls back.
    monkeypatch.setattr(cases, "notify", broken)
    with pytest.raises(RuntimeError):
        cases.issue_supervision_letter(case_id=first.pk, version=first.version, by=inspector)
    monkeypatch.undo()
    assert not Letter.objects.filter(kind="supervision").exists()
    assert FollowUp.objects.get(pk=first.pk).state == FollowUp.State.OPEN

    cases.issue_supervision_letter(case_id=second.pk, version=second.version, by=inspector)
    cases.issue_supervision_letter(case_id=first.pk, version=first.version, by=inspector)
    assert Letter.objects.get(case=second).number == "纪督〔2026〕1号"
    assert Letter.objects.get(case=first).number == "纪督〔2026〕2号"


def test_a_case_has_one_letter_of_a_kind(red_cases, inspector):
    case = red_cases[0]
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    with pytest.raises(ValidationError):
        cases.issue_supervision_letter(case_id=case.pk, version=case.version + 1, by=inspector)
    assert Letter.objects.filter(case=case).count() == 1
    assert numbers("supervision", 2026) == [1]


@pytest.mark.parametrize("counter_exists", [False, True])
@pytest.mark.django_db(transaction=True)
def test_two_letters_issued_at_once_get_two_consecutive_numbers(monkeypatch, red_cases, inspector, counter_exists):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks; CI runs it on PostgreSQL")
    from django.db import connection as thread_connection

    # Hold each transaction open for a moment after its number is taken, so that the other
    # thread reads the counter while the first one has not committed yet: without the row
    # lock both would take the same number.
    notify = cases.notify

    def slow_notify(**kwargs):
        time.sleep(0.3)
        return notify(**kwargs)

    monkeypatch.setattr(cases, "notify", slow_notify)

    if counter_exists:
        LetterCounter.objects.create(kind=Letter.Kind.SUPERVISION, year=2026, last=0)
    barrier = threading.Barrier(2)
    errors = []

    def issue(case):
        try:
            barrier.wait(timeout=10)
            cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=issue, args=(case,)) for case in red_cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert numbers("supervision", 2026) == [1, 2]
    assert {Letter.objects.get(case=case).sequence for case in red_cases} == {1, 2}
    assert LetterCounter.objects.get(kind="supervision", year=2026).last == 2
    assert {c.state for c in FollowUp.objects.filter(pk__in=[c.pk for c in red_cases])} == {FollowUp.State.NOTIFIED}


# --- documents --------------------------------------------------------------------------


def letter_html(client, letter):
    response = client.get(f"/reviews/letters/{letter.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    match = re.search(r'<article class="letter" id="letter">(.*?)</article>', html, re.S)
    assert match, "no #letter on the page"
    return match.group(1)


@pytest.fixture
def owner_client(client, staff_a):
    client.force_login(staff_a)
    return english(client)


def test_the_reminder_notice_names_the_department_owner_task_and_number(owner_client, yellow_case, inspector):
    cases.send_reminder(case_id=yellow_case.pk, version=yellow_case.version, by=inspector)
    letter = Letter.objects.get(case=yellow_case)
    html = letter_html(owner_client, letter)
    assert "纪提〔2026〕1号" in html
    assert "生产运营部" in html and "staff_a" in html
    assert "设备大修" in html and "70.0%" in html
    assert "处理意见：设备大修" in html
    assert "Discipline inspection office" in html
    assert letter.issued_at.strftime("%Y") in html


def test_the_supervision_letter_and_the_interview_notice(client, red_cases, inspector, staff_b):
    case = red_cases[1]  # department B, final score 20: serious
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector)
    at = interview_time()
    cases.schedule_interview(
        case_id=case.pk,
        version=case.version + 1,
        at=at,
        place="纪检室",
        participants="纪检组长、财务部负责人",
        by=inspector,
    )
    client.force_login(staff_b)
    english(client)
    supervision = letter_html(client, Letter.objects.get(case=case, kind="supervision"))
    assert "纪督〔2026〕1号" in supervision
    assert "应收账款清收" in supervision and "财务部" in supervision
    assert 'class="serious"' in supervision
    notice = letter_html(client, Letter.objects.get(case=case, kind="interview"))
    assert "纪谈〔2026〕1号" in notice
    assert "纪检室" in notice and "纪检组长、财务部负责人" in notice
    with translation.override("en"):
        assert formats.date_format(timezone.localtime(at), "DATE_FORMAT") in notice


def test_a_letter_page_is_printable(owner_client, yellow_case, inspector):
    cases.send_reminder(case_id=yellow_case.pk, version=yellow_case.version, by=inspector)
    html = owner_client.get(f"/reviews/letters/{Letter.objects.get(case=yellow_case).pk}/").content.decode()
    assert 'class="crumbs no-print"' in html
    assert "css/site.css" in html


def test_the_inspector_sees_whom_a_letter_reached_and_who_has_read_it(owner_client, yellow_case, inspector):
    cases.send_reminder(case_id=yellow_case.pk, version=yellow_case.version, by=inspector)
    letter = Letter.objects.get(case=yellow_case)
    owner_client.post(f"/inbox/{letter.notifications.get().pk}/open/")  # staff_a opens it
    # The owner reads the letter itself, not the office's record of its delivery.
    assert 'id="letter-recipients"' not in owner_client.get(f"/reviews/letters/{letter.pk}/").content.decode()
    owner_client.force_login(inspector)
    page = owner_client.get(f"/reviews/letters/{letter.pk}/").content.decode()
    sent_to = page.split('id="letter-recipients"')[1].split("</section>")[0]
    assert re.search(r"staff_a · read \w+", sent_to)


def test_a_missing_letter_is_404(owner_client):
    assert owner_client.get("/reviews/letters/999999/").status_code == 404


# --- the commendation notice -------------------------------------------------------------


@pytest.fixture
def retired(db):
    return make_user("retired", Role.STAFF, is_active=False)


@pytest.fixture
def everyone(staff_a, staff_b, leader_a, leader_b, leadership, inspector, no_role, retired):
    return [staff_a, staff_b, leader_a, leader_b, leadership, inspector, no_role]


def test_closing_a_meeting_with_green_ratings_sends_one_commendation_to_every_active_user(
    everyone, retired, closed_meeting, leadership
):
    letter = Letter.objects.get(kind=Letter.Kind.COMMENDATION)
    assert letter.meeting == closed_meeting
    assert letter.number == "亮表〔2026〕1号"
    sent = letter.notifications.all()
    assert sent.count() == User.objects.filter(is_active=True).count() == len(everyone)
    assert set(sent.values_list("recipient_id", flat=True)) == {u.pk for u in everyone}
    assert not sent.filter(recipient=retired).exists()
    assert {n.link for n in sent} == {f"/reviews/letters/{letter.pk}/"}
    assert {n.kind for n in sent} == {"commendation"}

    # Closing again changes nothing.
    close(closed_meeting, leadership)
    assert Letter.objects.filter(kind=Letter.Kind.COMMENDATION).count() == 1
    assert Letter.objects.get(kind=Letter.Kind.COMMENDATION).notifications.count() == len(everyone)
    assert Notification.objects.filter(kind="commendation").count() == len(everyone)


def test_no_green_no_commendation(year, leadership, department_a, staff_a, everyone):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="设备大修")
    meeting = open_meeting(stage_of(year, 2), leadership)
    rate(meeting, task, 70, leadership)
    close(meeting, leadership)
    assert ReviewMeeting.objects.get(pk=meeting.pk).is_closed
    assert not Letter.objects.filter(kind=Letter.Kind.COMMENDATION).exists()
    assert not Notification.objects.filter(kind="commendation").exists()


def test_the_commendation_notice_lists_the_green_tasks_for_everyone(client, everyone, closed_meeting, no_role):
    letter = Letter.objects.get(kind=Letter.Kind.COMMENDATION)
    for user in everyone:
        client.force_login(user)
        html = letter_html(english(client), letter)
        assert "亮表〔2026〕1号" in html
        rows = re.findall(r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td>", html)
        assert rows == [("财务部", "预算执行分析")]
        assert "新产线投产" not in html


MAIN_SCREENS = [
    ("staff_a", "/tasks/mine/"),
    ("leader_a", "/reviews/confirmations/"),
    ("leadership", "/reviews/meetings/"),
    ("inspector", "/reviews/followups/"),
]


def banner(html):
    match = re.search(r'<aside class="commendation-banner" id="commendation">(.*?)</aside>', html, re.S)
    return match.group(1) if match else None


@pytest.mark.parametrize(("who", "url"), MAIN_SCREENS)
def test_the_commendation_banner_shows_on_the_main_screens(client, request, closed_meeting, who, url):
    client.force_login(request.getfixturevalue(who))
    response = english(client).get(url)
    assert response.status_code == 200
    shown = banner(response.content.decode())
    assert shown is not None
    letter = Letter.objects.get(kind=Letter.Kind.COMMENDATION)
    assert "亮表〔2026〕1号" in shown and f"/reviews/letters/{letter.pk}/" in shown
    assert "预算执行分析" in shown and "财务部" in shown
    for not_green in ("新产线投产", "应收账款清收", "设备大修"):
        assert not_green not in shown


@pytest.mark.parametrize(("who", "url"), MAIN_SCREENS)
def test_no_banner_without_a_commendation(client, request, year, who, url):
    client.force_login(request.getfixturevalue(who))
    response = english(client).get(url)
    assert response.status_code == 200
    assert banner(response.content.decode()) is None


def test_the_banner_shows_the_newest_commendation(client, year, leadership, department_a, staff_a, inspector):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化")
    other = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="节能降耗")
    first = open_meeting(stage_of(year, 1), leadership)
    rate(first, task, 92, leadership)
    rate(first, other, 70, leadership)
    close(first, leadership)
    second = open_meeting(stage_of(year, 2), leadership)
    rate(second, task, 70, leadership)
    rate(second, other, 95, leadership)
    close(second, leadership)
    client.force_login(inspector)
    shown = banner(english(client).get("/reviews/followups/").content.decode())
    assert "亮表〔2026〕2号" in shown
    assert "节能降耗" in shown and "安全生产标准化" not in shown


def test_the_banner_names_the_first_eight_green_tasks_at_the_cost_of_one_query(
    client, year, leadership, department_a, staff_a
):
    titles = [f"绿色任务{n:02}" for n in range(10)]
    tasks = [KeyTaskFactory(year=year, department=department_a, owner=staff_a, title=title) for title in titles]
    client.force_login(staff_a)
    english(client)
    with CaptureQueriesContext(connection) as without:
        assert banner(client.get("/tasks/mine/").content.decode()) is None
    meeting = open_meeting(stage_of(year, 1), leadership)
    for task in tasks:
        rate(meeting, task, 95, leadership)
    close(meeting, leadership)
    with CaptureQueriesContext(connection) as with_banner:
        shown = banner(client.get("/tasks/mine/").content.decode())
    # The banner's one query is the one that found no notice before.
    assert len(with_banner.captured_queries) == len(without.captured_queries)
    assert "亮表〔2026〕1号" in shown and all(title in shown for title in titles[:8])
    assert titles[8] not in shown and titles[9] not in shown and "…" in shown
