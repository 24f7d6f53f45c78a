from django import forms

from . import kinds


class PreferencesForm(forms.Form):
    """One choice per category the person has: e-mail at once or in the daily digest (the
    weekly briefing: sent or not)."""

    def __init__(self, *args, rows, **kwargs):
        super().__init__(*args, **kwargs)
        for category, chosen, offered in rows:
            self.fields[category] = forms.ChoiceField(
                label=kinds.Category(category).label,
                choices=[(mode, kinds.mode_label(category, mode)) for mode in offered],
                initial=chosen,
                widget=forms.RadioSelect,
            )
