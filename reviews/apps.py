from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews and follow-up")

    def ready(self):
        from lightboard.lights import LABELS
        from tasks.queries import register_history_names

        from .models import CaseEvent, FollowUp, ReviewMeeting

        register_history_names(
            actions={
                "confirm self-assessment": _("Self-assessment confirmed"),
                "adjust self-assessment": _("Self-assessment confirmed with an adjusted score"),
                "return self-assessment": _("Self-assessment returned"),
                "rate task": _("Final score set"),
                "amend rating": _("Rating amended"),
                **{f"case: {value}": label for value, label in CaseEvent.Action.choices},
            },
            fields={
                "confirmed_score": _("Confirmed score"),
                "final_score": _("Final score"),
                "colour": _("Light"),
                "follow_ups": _("Follow-up cases"),
            },
            values={"colour": dict(LABELS)},
            states={**dict(ReviewMeeting.State.choices), **dict(FollowUp.State.choices)},
        )
