"""Numbered letters: reminder notices, supervision letters, interview notices, commendations."""

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from .models import Letter, LetterCounter


def take_letter_number(*, kind, year, series=""):
    """The next number of a kind of letter in a year and series: sequential, without gaps or
    duplicates, even when two letters are issued at once (the counter row is locked). Call inside
    the transaction that creates the letter, so a rolled-back letter gives its number back."""
    try:
        with transaction.atomic():
            LetterCounter.objects.get_or_create(series=series, kind=kind, year=year)
    except IntegrityError:
        pass  # created by a concurrent request a moment ago
    counter = LetterCounter.objects.select_for_update().get(series=series, kind=kind, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def series_of(meeting):
    """The number prefix of the meeting's cycle: a subsidiary's own, "" for the group's."""
    if meeting is None or meeting.unit_id is None:
        return ""
    return meeting.unit.letter_prefix or meeting.unit.code  # never the group's series


def issue_letter(*, kind, year, by, case=None, meeting=None, body=""):
    """A numbered letter of a case (or a meeting's commendation), in its cycle's series."""
    series = series_of(meeting or (case.rating.meeting if case is not None else None))
    return Letter.objects.create(
        kind=kind,
        series=series,
        year=year,
        sequence=take_letter_number(kind=kind, year=year, series=series),
        case=case,
        meeting=meeting,
        issued_by=by,
        body=body,
    )


def default_text(kind, case):
    """The main paragraph a reminder notice or a supervision letter of the case would carry,
    offered to the inspector to read and edit before it is issued; "" for other kinds."""
    rating, task = case.rating, case.rating.task
    values = {"meeting": rating.meeting, "title": task.title, "score": rating.final_score}
    if kind == Letter.Kind.REMINDER:
        return (
            _(
                'At the %(meeting)s review meeting the task "%(title)s" scored %(score)s%% and was lit yellow: the '
                "work has shortcomings. Please find the causes, catch up with the stage target and report your "
                "rectification in lightboard by the due date."
            )
            % values
        )
    if kind == Letter.Kind.SUPERVISION:
        return (
            _(
                'At the %(meeting)s review meeting the task "%(title)s" scored %(score)s%% and was lit red: it was '
                "not completed as required. The discipline inspection office supervises its handling by this "
                "letter. The owner will be interviewed; please prepare a written account and a rectification plan."
            )
            % values
        )
    return ""


def letter_text(letter):
    """What the letter says: the text it was issued with, else its kind's text for its case."""
    return letter.body or (default_text(letter.kind, letter.case) if letter.case_id else "")


def letter_link(letter):
    return reverse("reviews:letter", kwargs={"letter_id": letter.pk})


def record_sending(letter, notifications):
    """Remember which messages the letter went out as (whom it reached, and who read it)."""
    letter.notifications.add(*notifications)


def case_link(case):
    return reverse("reviews:case", kwargs={"case_id": case.pk})
