from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews and follow-up")

    def ready(self):
        """Tell the tasks app, through its public hooks, what this app adds to a task's page:
        the results of each stage, the names of the actions it records on the history, and the
        discussions of its cases (who reads them, where they are shown)."""
        from django.urls import reverse

        from lightboard.lights import LABELS
        from tasks.access import register_thread_kind
        from tasks.audit import register_history_names
        from tasks.results import register_result_source

        from .access import may_see_case_thread
        from .models import CaseEvent, FollowUp, ReviewMeeting
        from .queries import stage_results

        register_result_source(stage_results)
        register_thread_kind(
            "case", may_see=may_see_case_thread, url=lambda case_id: reverse("reviews:case", args=[case_id])
        )
        register_history_names(
            actions={
                "confirm self-assessment": _("Self-assessment confirmed"),
                "adjust self-assessment": _("Self-assessment confirmed with an adjusted score"),
                "return self-assessment": _("Self-assessment returned"),
                "rate task": _("Final score set"),
                "amend rating": _("Rating amended"),
                "change meeting": _("Meeting corrected in the admin"),
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
