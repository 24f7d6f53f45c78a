"""Letters as Word documents and PDF (issue 13, point 6): what python-docx and pypdf read back
from the download is the letter: the office in red over a rule, the number on the right, the
title, the addressee, the text, and the signature with the date."""

import io

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from reviews import cases
from reviews.models import FollowUp, Letter
from tests.factories import KeyTaskFactory
from tests.reviews_fixtures import close, open_meeting, rate, rating_of, stage_of

LETTER_TEXT = "经考核评价例会研究，“新产线投产”任务亮红灯，请于十个工作日内报送整改方案。"


@pytest.fixture
def supervision_letter(year, leadership, department_a, staff_a, inspector):
    task = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="新产线投产")
    green = KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="安全生产标准化")
    meeting = open_meeting(stage_of(year, 2), leadership)
    rate(meeting, task, 45, leadership, decision="限期整改")
    rate(meeting, green, 95, leadership)
    close(meeting, leadership)
    case = FollowUp.objects.get(rating=rating_of(meeting, task))
    cases.issue_supervision_letter(case_id=case.pk, version=case.version, by=inspector, text=LETTER_TEXT)
    return Letter.objects.get(kind="supervision")


def download(client, letter):
    response = client.get(f"/reviews/letters/{letter.pk}.docx")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert ".docx" in response["Content-Disposition"]
    return Document(io.BytesIO(b"".join(response.streaming_content)))


def test_the_owner_downloads_the_supervision_letter_as_an_official_letter(client, staff_a, supervision_letter):
    client.force_login(staff_a)
    document = download(client, supervision_letter)

    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    texts = [p.text for p in paragraphs]
    header, number, title = paragraphs[0], paragraphs[1], paragraphs[2]
    assert header.text == "纪检监察部" and header.runs[0].font.color.rgb == (0xC0, 0x00, 0x00)
    assert header.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert "w:pBdr" in header._p.xml, "a rule under the office's name"
    assert number.text == supervision_letter.number == "纪督〔2026〕1号"
    assert number.alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert title.text == "督办函"
    assert "生产运营部、staff_a：" in texts and LETTER_TEXT in texts
    assert "处理意见：限期整改" in texts
    assert texts[-2] == "纪检监察部" and paragraphs[-1].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert texts[-1].startswith("20") and texts[-1].endswith("日")


def test_the_commendation_notice_lists_the_green_tasks(client, staff_b, supervision_letter):
    commendation = Letter.objects.get(kind="commendation")
    client.force_login(staff_b)  # a commendation is for everyone
    texts = [p.text for p in download(client, commendation).paragraphs]
    assert "领导小组" in texts[0]
    assert any("安全生产标准化" in text for text in texts)
    assert not any("新产线投产" in text for text in texts)


def test_someone_who_may_not_read_the_letter_cannot_download_it(client, staff_b, supervision_letter):
    client.force_login(staff_b)
    assert client.get(f"/reviews/letters/{supervision_letter.pk}.docx").status_code == 404


def test_the_letter_page_offers_the_download(client, staff_a, supervision_letter):
    client.force_login(staff_a)
    page = client.get(f"/reviews/letters/{supervision_letter.pk}/").content.decode()
    assert f'href="/reviews/letters/{supervision_letter.pk}.docx"' in page and "Word" in page
