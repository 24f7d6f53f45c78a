"""Letters as Word documents (python-docx) and PDF (reportlab), in the usual layout of an
official letter: the issuing office in red across the top over a red rule, the number on the
right, the title, the addressee and the text, then the office and the date on the right with
room for the seal. The same content as the printable HTML letter.

The PDF uses the standard Chinese font STSong-Light, which PDF readers supply: nothing is
embedded, so the file is small and needs no font on the server."""

import io
from xml.sax.saxutils import escape

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer

from .letters import letter_text
from .models import Letter

RED = RGBColor(0xC0, 0x00, 0x00)
BODY_FONT = "宋体"  # FangSong/SimSun on the reader's machine; the text is Unicode either way


def _red_rule(paragraph):
    """A red line under the header, drawn as the paragraph's bottom border."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (("val", "single"), ("sz", "18"), ("space", "4"), ("color", "C00000")):
        bottom.set(qn(f"w:{name}"), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _paragraph(document, text, *, align=None, size=14, bold=False, colour=None):
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    run = paragraph.add_run(text)
    run.font.size, run.font.bold, run.font.name = Pt(size), bold, BODY_FONT
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    if colour is not None:
        run.font.color.rgb = colour
    return paragraph


def issuing_office(letter):
    if letter.kind == Letter.Kind.COMMENDATION:
        return _("Leadership group for the traffic-light assessment")
    return _("Discipline inspection office")


def _lines(letter, commended):
    """The letter's paragraphs after the title, as the HTML letter has them."""
    case = letter.case
    if case is None:
        lines = [
            _(
                "The following key tasks were lit green at the %(meeting)s review meeting: the work was done well. "
                "They are commended."
            )
            % {"meeting": letter.meeting}
        ]
        lines += [f"{rating.task.department} · {rating.task.title} · {rating.final_score}%" for rating in commended]
        return lines
    task = case.rating.task
    lines = [f"{task.department}、{task.owner}："]
    if letter.kind == Letter.Kind.INTERVIEW:
        when = case.interview_at and formats.date_format(timezone.localtime(case.interview_at), "DATETIME_FORMAT")
        lines.append(
            _('Regarding the red result of the task "%(title)s", you are asked to attend an interview at %(when)s, '
              "%(place)s.")
            % {"title": task.title, "when": when, "place": case.interview_place}
        )  # fmt: skip
        if case.interview_participants:
            lines.append(f"{_('Participants')}：{case.interview_participants}")
    else:
        lines.append(letter_text(letter))
    lines.append(f"{_('Handling decision')}：{case.rating.decision or '—'}")
    lines.append(f"{_('Due date')}：{formats.date_format(case.due_date, 'DATE_FORMAT')}")
    return lines


def letter_docx(letter, commended=()):
    """The letter as a .docx file's bytes."""
    document = Document()
    header = _paragraph(
        document, issuing_office(letter), align=WD_ALIGN_PARAGRAPH.CENTER, size=26, bold=True, colour=RED
    )
    _red_rule(header)
    _paragraph(document, letter.number, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(document, letter.get_kind_display(), align=WD_ALIGN_PARAGRAPH.CENTER, size=22, bold=True)
    for line in _lines(letter, commended):
        _paragraph(document, line)
    for _space in range(3):  # room for the seal
        document.add_paragraph()
    _paragraph(document, issuing_office(letter), align=WD_ALIGN_PARAGRAPH.RIGHT)
    issued = formats.date_format(timezone.localtime(letter.issued_at), "DATE_FORMAT")
    _paragraph(document, issued, align=WD_ALIGN_PARAGRAPH.RIGHT)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


PDF_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
_TEXT = ParagraphStyle("letter", fontName=PDF_FONT, fontSize=14, leading=24, wordWrap="CJK")
_HEADER = ParagraphStyle(
    "office", parent=_TEXT, fontSize=26, leading=34, alignment=TA_CENTER, textColor=colors.Color(0.75, 0, 0)
)
_TITLE = ParagraphStyle(
    "title", parent=_TEXT, fontSize=22, leading=34, alignment=TA_CENTER, spaceBefore=12, spaceAfter=12
)
_RIGHT = ParagraphStyle("right", parent=_TEXT, alignment=TA_RIGHT)


def letter_pdf(letter, commended=()):
    """The letter as a PDF file's bytes (A4)."""
    office = escape(issuing_office(letter))
    story = [
        Paragraph(office, _HEADER),
        HRFlowable(width="100%", thickness=1.5, color=_HEADER.textColor, spaceBefore=4, spaceAfter=8),
        Paragraph(escape(letter.number), _RIGHT),
        Paragraph(escape(letter.get_kind_display()), _TITLE),
        *(Paragraph(escape(line), _TEXT) for line in _lines(letter, commended)),
        Spacer(1, 30 * mm),  # room for the seal
        Paragraph(office, _RIGHT),
        Paragraph(escape(formats.date_format(timezone.localtime(letter.issued_at), "DATE_FORMAT")), _RIGHT),
    ]
    buffer = io.BytesIO()
    title = f"{letter.get_kind_display()} {letter.number}"
    SimpleDocTemplate(buffer, pagesize=A4, title=title, leftMargin=28 * mm, rightMargin=26 * mm).build(story)
    return buffer.getvalue()
