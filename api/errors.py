"""What the API says of a bad field, in the interface language: pydantic's error types named in
lightboard's words (with the limit from the error's context), pydantic's own English text for a
type not named here."""

from django.utils.translation import gettext_lazy as _

WHOLE_NUMBER = _("Must be a whole number.")
NUMBER = _("Must be a number.")
ONE_OF = _("Must be one of: %(expected)s.")
TRUE_OR_FALSE = _("Must be true or false.")
OBJECT = _("Must be a JSON object.")

MESSAGES = {
    "missing": _("This field is required."),  # Django's own message, which its catalogue translates
    "extra_forbidden": _("This field is not accepted here."),
    "less_than_equal": _("Must be at most %(le)s."),
    "less_than": _("Must be less than %(lt)s."),
    "greater_than_equal": _("Must be at least %(ge)s."),
    "greater_than": _("Must be more than %(gt)s."),
    "multiple_of": _("Must be a multiple of %(multiple_of)s."),
    "float_parsing": NUMBER,
    "float_type": NUMBER,
    "finite_number": NUMBER,
    "int_parsing": WHOLE_NUMBER,
    "int_type": WHOLE_NUMBER,
    "int_from_float": WHOLE_NUMBER,
    "string_type": _("Must be text."),
    "string_too_long": _("At most %(max_length)s characters."),
    "string_too_short": _("At least %(min_length)s characters."),
    "string_pattern_mismatch": _("Not in the expected form."),
    "literal_error": ONE_OF,
    "enum": ONE_OF,
    "bool_parsing": TRUE_OR_FALSE,
    "bool_type": TRUE_OR_FALSE,
    "json_invalid": _("The body is not valid JSON."),
    "model_attributes_type": OBJECT,
    "dict_type": OBJECT,
    "model_type": OBJECT,
}


def _plain(value):
    """A limit as people write it: 100, not 100.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def field_message(error):
    """The message of one pydantic error (a dict of its `type`, `ctx` and `msg`)."""
    text = MESSAGES.get(error.get("type"))
    if text is None:
        return error.get("msg", "")
    context = {key: _plain(value) for key, value in (error.get("ctx") or {}).items()}
    try:
        return str(text) % context
    except (KeyError, TypeError, ValueError):
        return error.get("msg", "")
