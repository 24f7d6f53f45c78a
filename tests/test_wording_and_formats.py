"""How the Chinese interface reads: full-width colons after labels, one name for the commendation
notice, weights without trailing zeros, a stage picker that asks in words, unique element ids,
and the minutes' download as a button."""

import re
from collections import Counter
from decimal import Decimal

import pytest

from reviews.models import Letter
from tests.factories import KeyTaskFactory, make_list
from tests.reviews_fixtures import close, open_meeting, rate, stage_of, submit

pytestmark = pytest.mark.django_db


def html_as(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_labels_end_with_a_full_width_colon_in_chinese(client, year, department_a, staff_a):
    make_list(year, department_a)
    html = html_as(client, staff_a, "/tasks/lists/2026/A/")
    assert "状态：" in html and "状态:" not in html


def test_labels_end_with_a_colon_and_a_space_in_english(client, year, department_a, staff_a):
    make_list(year, department_a)
    client.cookies["django_language"] = "en"
    assert "State: " in html_as(client, staff_a, "/tasks/lists/2026/A/")


def test_weights_show_without_trailing_zeros(client, year, department_a, staff_a):
    KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="甲", weight=Decimal("1.50"))
    KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="乙", weight=Decimal("2.00"))
    html = html_as(client, staff_a, "/tasks/lists/2026/A/")
    cells = re.findall(r'data-label="权重">([^<]*)<', html)
    assert sorted(cells) == ["1.5", "2"]


def test_the_stage_picker_asks_in_words(client, year, leadership):
    html = html_as(client, leadership, "/reviews/meetings/")
    assert "请选择阶段" in html and "---------" not in html


def test_the_commendation_notice_has_one_name(client, year, department_a, staff_a, leadership):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    meeting = open_meeting(stage_of(year, 1), leadership)
    rate(meeting, task, 95, leadership)
    close(meeting, leadership)
    html = html_as(client, staff_a, "/tasks/mine/")
    banner = html.split('id="commendation"')[1].split("</aside>")[0]
    assert "表扬通报" in banner and "通报表扬" not in banner
    assert Letter.objects.get().get_kind_display() == "表扬通报"


def test_pages_with_several_forms_give_every_element_its_own_id(client, year, department_a, staff_a, leader_a):
    assessment = submit(KeyTaskFactory(year=year, department=department_a, owner=staff_a), stage_of(year, 1), 70)
    html = html_as(client, leader_a, f"/reviews/confirmations/{assessment.pk}/")
    ids = Counter(re.findall(r'\bid="([^"]+)"', html))
    assert [name for name, count in ids.items() if count > 1] == []


def test_the_minutes_offer_their_excel_download_as_a_button(client, year, department_a, staff_a, leadership):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a)
    meeting = open_meeting(stage_of(year, 1), leadership)
    rate(meeting, task, 95, leadership)
    close(meeting, leadership)
    html = html_as(client, leadership, f"/reviews/meetings/{meeting.pk}/minutes/")
    assert re.search(rf'<a class="button" href="/reviews/meetings/{meeting.pk}/minutes.xlsx" download>', html)
