"""Form helpers shared by the apps' views."""

from django import forms
from django.contrib import messages
from django.utils.translation import gettext_lazy as _

from .lights import NOT_A_SCORE, TOO_MANY_DECIMALS
from .text import read_number
from .versioning import StaleEdit

SCORE_ERRORS = {
    "invalid": NOT_A_SCORE,
    "min_value": _("A score cannot be below 0."),
    "max_value": _("A score cannot be above 100."),
    "max_decimal_places": TOO_MANY_DECIMALS,
    "max_digits": NOT_A_SCORE,
    "max_whole_digits": NOT_A_SCORE,
}


class NumberField(forms.DecimalField):
    """A decimal read as lightboard.text.read_number reads it (full-width digits welcome; 1e1 or
    1_0 refused), then checked as a DecimalField checks it."""

    percent = False

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return read_number(value, percent=self.percent)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class ScoreField(NumberField):
    """A percentage: a trailing % is welcome too."""

    percent = True


def score_field(label, *, required=True, error_messages=None):
    """A percentage from 0 to 100 with one decimal place, typed on any keyboard (a phone's too)."""
    return ScoreField(
        label=label,
        required=required,
        min_value=0,
        max_value=100,
        max_digits=4,
        decimal_places=1,
        error_messages={**SCORE_ERRORS, **(error_messages or {})},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


def version_field():
    """The version of the record the form was loaded at (see lightboard.versioning)."""
    return forms.IntegerField(widget=forms.HiddenInput, min_value=0)


def show_service_error(error, *, form=None, request=None):
    """Show a service's ValidationError (StaleEdit included) where the user sees it: each
    field's message next to that field of `form`; anything else at the top of `form`, or, given
    the `request`, at the top of the page (when there is no form, or the form may not be shown
    again after the error)."""
    if form is not None:
        form.is_stale = isinstance(error, StaleEdit)  # the form offers the latest version
    fields = form.fields if form is not None else {}
    by_field = error.error_dict if hasattr(error, "error_dict") else {None: error.error_list}
    for name, errors in by_field.items():
        for item in errors:
            if name in fields:
                form.add_error(name, item)
            elif request is not None:
                messages.error(request, " ".join(item.messages))
            else:
                form.add_error(None, item)


def date_input():
    """A browser date picker: it reads and writes ISO dates (2026-12-31) whatever the
    language, so the value it starts with is written that way too."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
