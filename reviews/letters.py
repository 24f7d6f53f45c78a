"""Numbered letters: reminder notices, supervision letters, interview notices, commendations."""

from django.db import IntegrityError, transaction
from django.urls import reverse

from .models import Letter, LetterCounter


def take_letter_number(*, kind, year):
    """The next number of a kind of letter in a year: sequential, without gaps or duplicates,
    even when two letters are issued at once (the counter row is locked). Call inside the
    transaction that creates the letter, so a rolled-back letter gives its number back."""
    try:
        with transaction.atomic():
            LetterCounter.objects.get_or_create(kind=kind, year=year)
    except IntegrityError:
        pass  # created by a concurrent request a moment ago
    counter = LetterCounter.objects.select_for_update().get(kind=kind, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def issue_letter(*, kind, year, by, case=None, meeting=None):
    return Letter.objects.create(
        kind=kind,
        year=year,
        sequence=take_letter_number(kind=kind, year=year),
        case=case,
        meeting=meeting,
        issued_by=by,
    )


def letter_link(letter):
    return reverse("reviews:letter", kwargs={"letter_id": letter.pk})


def record_sending(letter, notifications):
    """Remember which messages the letter went out as (whom it reached, and who read it)."""
    letter.notifications.add(*notifications)
