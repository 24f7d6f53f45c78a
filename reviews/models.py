from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lightboard.versioning import Versioned
from outbox.models import Notification
from tasks.models import Department, KeyTask, SelfAssessment, Stage, User


class Confirmation(models.Model):
    """The division leader's confirmed score of a self-assessment (分管领导确认)."""

    assessment = models.OneToOneField(
        SelfAssessment, on_delete=models.CASCADE, related_name="confirmation", verbose_name=_("self-assessment")
    )
    score = models.DecimalField(_("confirmed score"), max_digits=4, decimal_places=1)
    reason = models.TextField(_("reason for the adjustment"), blank=True)
    confirmed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("confirmed by"))
    # Confirmed by a deputy (代理): the division leader they stood in for.
    confirmed_for = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("confirmed for")
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("confirmation")
        verbose_name_plural = _("confirmations")
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=100), name="confirmation_score_0_100")
        ]

    def __str__(self):
        return f"{self.assessment} = {self.score}"


class ReviewMeeting(models.Model):
    """The leadership group's bimonthly review meeting (亮灯考核评价例会) for one stage."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        IN_SESSION = "in_session", _("In session")
        CLOSED = "closed", _("Closed")

    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="meetings", verbose_name=_("stage"))
    # The unit whose cycle this is (a subsidiary that runs its own); empty for the group's.
    unit = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meetings",
        verbose_name=_("unit"),
    )
    date = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=100, blank=True)
    attendees = models.ManyToManyField(User, related_name="meetings", blank=True, verbose_name=_("attendees"))
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.SCHEDULED)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("closed by")
    )

    class Meta:
        ordering = ["-date"]
        verbose_name = _("review meeting")
        verbose_name_plural = _("review meetings")
        constraints = [
            models.UniqueConstraint(
                fields=["stage"], condition=Q(unit__isnull=True), name="one_group_meeting_per_stage"
            ),
            models.UniqueConstraint(fields=["stage", "unit"], name="one_meeting_per_stage_and_unit"),
        ]

    def __str__(self):
        return f"{self.unit} {self.stage}" if self.unit_id else str(self.stage)

    @property
    def accepts_ratings(self):
        """In session: the group sets final scores (meeting mode, the board)."""
        return self.state == self.State.IN_SESSION

    @property
    def is_closed(self):
        return self.state == self.State.CLOSED


class Rating(Versioned):
    """The leadership group's final score of one task at one meeting. The colour is always
    computed from the score by the colour engine; frozen once the meeting closes."""

    class Colour(models.TextChoices):
        GREEN = "green", _("Green light")
        YELLOW = "yellow", _("Yellow light")
        RED = "red", _("Red light")

    meeting = models.ForeignKey(
        ReviewMeeting, on_delete=models.CASCADE, related_name="ratings", verbose_name=_("meeting")
    )
    task = models.ForeignKey(KeyTask, on_delete=models.PROTECT, related_name="ratings", verbose_name=_("task"))
    final_score = models.DecimalField(_("final score"), max_digits=4, decimal_places=1, null=True, blank=True)
    colour = models.CharField(_("light"), max_length=10, choices=Colour, blank=True)
    score_reason = models.TextField(_("reason for the final score"), blank=True)
    decision = models.TextField(_("handling decision"), blank=True)
    next_stage_target = models.TextField(_("next stage's key work"), blank=True)

    class Meta:
        ordering = ["meeting", "task"]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(fields=["meeting", "task"], name="one_rating_per_task_and_meeting"),
            models.CheckConstraint(
                condition=Q(final_score__isnull=True) | (Q(final_score__gte=0) & Q(final_score__lte=100)),
                name="rating_score_0_100",
            ),
            models.CheckConstraint(
                condition=(Q(final_score__isnull=True) & Q(colour="")) | (Q(final_score__isnull=False) & ~Q(colour="")),
                name="rating_colour_only_with_a_score",
            ),
        ]
        indexes = [models.Index(fields=["meeting", "colour"])]

    def __str__(self):
        return f"{self.task} · {self.meeting}"


class RatingAmendment(models.Model):
    """A recorded correction of a frozen rating; the original values stay visible here."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="amendments", verbose_name=_("rating"))
    old_score = models.DecimalField(_("score before"), max_digits=4, decimal_places=1)
    new_score = models.DecimalField(_("score after"), max_digits=4, decimal_places=1)
    old_colour = models.CharField(_("light before"), max_length=10, choices=Rating.Colour)
    new_colour = models.CharField(_("light after"), max_length=10, choices=Rating.Colour)
    reason = models.TextField(_("reason"))
    amended_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("amended by"))
    amended_at = models.DateTimeField(_("amended at"), auto_now_add=True)

    class Meta:
        ordering = ["amended_at", "id"]
        verbose_name = _("rating amendment")
        verbose_name_plural = _("rating amendments")

    def __str__(self):
        return f"{self.rating}: {self.old_score} → {self.new_score}"


class FollowUp(Versioned):
    """The discipline inspection office's case for a yellow or red rating."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Reminder (提醒督促)")
        SUPERVISION = "supervision", _("Supervision (发函督办)")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        NOTIFIED = "notified", _("Notified")
        INTERVIEW_SCHEDULED = "interview_scheduled", _("Interview scheduled")
        INTERVIEWED = "interviewed", _("Interviewed")
        RECTIFYING = "rectifying", _("Rectifying")
        CLOSED = "closed", _("Case closed")
        ESCALATED = "escalated", _("Escalated to accountability")

    rating = models.OneToOneField(Rating, on_delete=models.CASCADE, related_name="follow_up", verbose_name=_("rating"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    state = models.CharField(_("state"), max_length=30, choices=State, default=State.OPEN)
    inspector = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups", verbose_name=_("inspector")
    )
    due_date = models.DateField(_("due date"))
    serious = models.BooleanField(_("serious"), default=False)
    serious_reason = models.CharField(_("why serious"), max_length=200, blank=True)
    interview_at = models.DateTimeField(_("interview time"), null=True, blank=True)
    interview_place = models.CharField(_("interview place"), max_length=100, blank=True)
    interview_participants = models.CharField(_("interview participants"), max_length=300, blank=True)
    interview_record = models.TextField(_("interview record"), blank=True)
    escalation_reason = models.TextField(_("reason for accountability"), blank=True)
    conclusion = models.TextField(_("conclusion"), blank=True)
    # Closed although no rectification was accepted: the inspector's reason, on the record.
    closed_unaccepted_reason = models.TextField(_("reason for closing without accepted rectification"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("follow-up case")
        verbose_name_plural = _("follow-up cases")

    def __str__(self):
        return f"{self.get_kind_display()} · {self.rating}"


class CaseEvent(models.Model):
    """One step of a follow-up case: who did what, when, and the state it moved to."""

    class Action(models.TextChoices):
        REMINDER_SENT = "reminder sent", _("Reminder sent")
        LETTER_ISSUED = "supervision letter issued", _("Supervision letter issued")
        INTERVIEW_SCHEDULED = "interview scheduled", _("Interview scheduled")
        INTERVIEW_RECORDED = "interview recorded", _("Interview recorded")
        RECTIFICATION_UPDATED = "rectification updated", _("Rectification updated")
        CLOSED = "closed", _("Case closed")
        ESCALATED = "escalated", _("Escalated to accountability")
        AMENDED = "amended", _("Changed by a rating amendment")
        ACKNOWLEDGED = "letter acknowledged", _("Letter acknowledged")
        RECTIFICATION_SUBMITTED = "rectification submitted", _("Rectification submitted")
        RECTIFICATION_ACCEPTED = "rectification accepted", _("Rectification accepted")
        RECTIFICATION_RETURNED = "rectification returned", _("Rectification returned")
        ACCOUNTABILITY_DECIDED = "accountability decided", _("Accountability decided")
        EXEMPTION_REQUESTED = "exemption requested", _("Exemption (容错) requested")
        EXEMPTION_APPROVED = "exemption approved", _("Exemption (容错) approved")
        EXEMPTION_REFUSED = "exemption refused", _("Exemption (容错) refused")

    case = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="events", verbose_name=_("case"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    action = models.CharField(_("action"), max_length=40, choices=Action)
    # Taken by a deputy (代理): the inspector they stood in for.
    on_behalf_of = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("for")
    )
    from_state = models.CharField(_("state before"), max_length=30, blank=True)
    to_state = models.CharField(_("state after"), max_length=30, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("case step")
        verbose_name_plural = _("case steps")

    def __str__(self):
        return f"{self.case_id} {self.action}"


class Accountability(models.Model):
    """An entry of the accountability register (问责台账): a case escalated to accountability,
    against the task's owner at the time. The office records the decision taken, or asks for
    an exemption under the fault-tolerance rules (容错纠错: an objective cause and a reason),
    which the leadership group approves or refuses; an exempted case keeps its red light and
    stays on the register as exempted."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        EXEMPTION_REQUESTED = "exemption_requested", _("Exemption awaiting the leadership group")
        EXEMPTED = "exempted", _("Exempted (容错免责)")
        DECIDED = "decided", _("Decided")

    case = models.OneToOneField(
        FollowUp, on_delete=models.CASCADE, related_name="accountability", verbose_name=_("case")
    )
    person = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="accountabilities", verbose_name=_("person held to account")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    reason = models.TextField(_("reason for accountability"))
    proposed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("proposed by"))
    proposed_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.PROPOSED)
    decision = models.TextField(_("decision"), blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    objective_cause = models.TextField(_("objective cause"), blank=True)
    exemption_reason = models.TextField(_("reason for the exemption"), blank=True)
    exemption_requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("exemption asked by")
    )
    exemption_decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("exemption decided by")
    )
    exemption_decided_at = models.DateTimeField(_("exemption decided at"), null=True, blank=True)
    exemption_comment = models.TextField(_("leadership's comment on the exemption"), blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        verbose_name = _("accountability")
        verbose_name_plural = _("accountability register")

    def __str__(self):
        return f"{self.person} · {self.year} · {self.get_state_display()}"


class Rectification(models.Model):
    """The owner's answer to a case, reviewed by the inspector: for a red case a rectification
    plan (整改方案) and later reports with evidence (整改报告); for a yellow one an explanation
    with the catch-up measure (情况说明). A returned one stays on record; resubmitting writes a
    new one."""

    class Kind(models.TextChoices):
        PLAN = "plan", _("Rectification plan")
        REPORT = "report", _("Rectification report")
        ANSWER = "answer", _("Explanation and catch-up measure")

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting review")
        ACCEPTED = "accepted", _("Accepted")
        RETURNED = "returned", _("Returned")
        # The case started again (its rating was amended): answered anew, this one kept on record.
        SUPERSEDED = "superseded", _("Superseded (the case started again)")

    case = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="rectifications", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    # A plan's measures, a report's account of what was done, an answer's explanation.
    text = models.TextField(_("content"))
    catch_up = models.TextField(_("catch-up measure"), blank=True)
    responsible = models.CharField(_("person responsible"), max_length=100, blank=True)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.SUBMITTED)
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("reviewed by")
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.TextField(_("inspector's comment"), blank=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"], condition=Q(state="submitted"), name="one_rectification_of_a_kind_in_review"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.case_id}"


def rectification_file_path(instance, filename):
    return f"rectification/{instance.rectification.case_id}/{instance.rectification_id}/{filename}"


class RectificationFile(models.Model):
    """Evidence of a rectification report. Served only through an access-checked view."""

    rectification = models.ForeignKey(
        Rectification, on_delete=models.CASCADE, related_name="files", verbose_name=_("rectification")
    )
    file = models.FileField(_("file"), upload_to=rectification_file_path)
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("rectification evidence")
        verbose_name_plural = _("rectification evidence")

    def __str__(self):
        return self.original_name


class LetterCounter(models.Model):
    """The last number issued per series (a cycle's prefix), kind of letter and year; locked
    while a number is taken, so numbers run without gaps or duplicates."""

    series = models.CharField(max_length=10, blank=True, default="")
    kind = models.CharField(max_length=30)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "kind", "year"], name="one_counter_per_series_kind_and_year")
        ]

    def __str__(self):
        return f"{self.series}{self.kind} {self.year}: {self.last}"


class Letter(models.Model):
    """A numbered document: reminder, supervision letter, interview notice or commendation."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Reminder notice")
        SUPERVISION = "supervision", _("Supervision letter")
        INTERVIEW = "interview", _("Interview notice")
        COMMENDATION = "commendation", _("Commendation notice")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    # The prefix of the cycle that issued it ("" for the group's), kept as issued.
    series = models.CharField(_("series"), max_length=10, blank=True, default="")
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    case = models.ForeignKey(
        FollowUp, on_delete=models.CASCADE, null=True, blank=True, related_name="letters", verbose_name=_("case")
    )
    meeting = models.ForeignKey(
        ReviewMeeting,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="letters",
        verbose_name=_("meeting"),
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by"))
    # The letter's main paragraph as the inspector issued it (reviews.letters.default_text was
    # offered for editing); empty for a notice whose text follows its case (an interview moved).
    body = models.TextField(_("text"), blank=True)
    # The messages the letter went out as, one per recipient: who was sent it, and who has read it.
    notifications = models.ManyToManyField(
        Notification, related_name="+", blank=True, editable=False, verbose_name=_("sent as")
    )
    # 签收: the owner (or a colleague of the department, for the owner) confirms receipt; the
    # reply is due a number of working days later (the year's rule for the kind of letter).
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("acknowledged by")
    )
    acknowledged_for = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("acknowledged for")
    )
    reply_due = models.DateField(_("reply due"), null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        constraints = [
            models.UniqueConstraint(fields=["series", "kind", "year", "sequence"], name="letter_number_unique"),
            models.UniqueConstraint(
                fields=["meeting", "kind"], condition=Q(meeting__isnull=False), name="one_commendation_per_meeting"
            ),
        ]

    PREFIX = {"reminder": "纪提", "supervision": "纪督", "interview": "纪谈", "commendation": "亮表"}

    def __str__(self):
        return f"{self.get_kind_display()} {self.number}"

    @property
    def number(self):
        """The document number, e.g. 纪督〔2026〕7号, or 华东纪督〔2026〕3号 in a subsidiary's cycle."""
        return f"{self.series}{self.PREFIX[self.kind]}〔{self.year}〕{self.sequence}号"
