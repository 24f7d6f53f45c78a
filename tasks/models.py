from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lightboard.colour import DEFAULT_GREEN_ABOVE, DEFAULT_RED_BELOW, validate_thresholds
from lightboard.roles import Role
from lightboard.versioning import Versioned

STAGES_PER_YEAR = 6


class User(AbstractUser):
    """A person who signs in. Roles are Django groups (see lightboard.roles)."""

    class DeactivatedBy(models.TextChoices):
        NOBODY = "", _("nobody")
        DIRECTORY = "directory", _("the directory")
        ADMINISTRATOR = "administrator", _("an administrator")

    name = models.CharField(_("full name"), max_length=60, blank=True)
    departments = models.ManyToManyField(
        "Department",
        related_name="members",
        blank=True,
        verbose_name=_("departments"),
        help_text=_("Departments whose key tasks this person works on."),
    )
    # A role is held for a unit and everything below it: a subsidiary's inspector sees that
    # subsidiary's cases only; people without a unit hold their roles for the whole group.
    unit = models.ForeignKey(
        "Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="scoped_users",
        verbose_name=_("roles held for"),
        help_text=_(
            "The leadership group, division leader and inspector roles apply to this unit and every unit "
            "below it. Leave empty for the whole group."
        ),
    )

    # Where the person comes from and how messages reach them outside lightboard. A user with a
    # directory id is kept in step with the directory (sign-in and sync); local accounts are not.
    directory_id = models.CharField(
        _("directory id"),
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text=_("The person's entry in the directory (LDAP). Empty for local accounts."),
    )
    wecom_userid = models.CharField(
        _("WeCom user id"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text=_("The person's UserID in WeCom (企业微信), for work messages and sign-in."),
    )
    dingtalk_userid = models.CharField(
        _("DingTalk user id"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text=_("The person's userid in DingTalk (钉钉), for work notices and sign-in."),
    )
    # Who made the user inactive. The directory (sign-in, sync) reactivates only the users it
    # deactivated itself: an administrator's suspension holds whatever the directory says.
    deactivated_by = models.CharField(
        _("deactivated by"),
        max_length=20,
        choices=DeactivatedBy,
        blank=True,
        default="",
        db_default="",
        help_text=_("The directory reactivates only the users it deactivated itself."),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["directory_id"], condition=~Q(directory_id=""), name="one_user_per_directory_entry"
            ),
            models.UniqueConstraint(
                fields=["wecom_userid"], condition=~Q(wecom_userid=""), name="one_user_per_wecom_id"
            ),
            models.UniqueConstraint(
                fields=["dingtalk_userid"], condition=~Q(dingtalk_userid=""), name="one_user_per_dingtalk_id"
            ),
        ]

    def __str__(self):
        return self.name or self.get_full_name() or self.username


class Department(models.Model):
    class Kind(models.TextChoices):
        DEPARTMENT = "department", _("Department")
        SUBSIDIARY = "subsidiary", _("Subsidiary")

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("short code"), max_length=20, unique=True, help_text=_("Used in imports and addresses."))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.DEPARTMENT)
    # The organisation tree: a subsidiary's departments sit under it (any depth); the
    # headquarters' departments and the subsidiaries are at the top.
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("belongs to"),
    )
    # A subsidiary may run its own 亮灯 cycle: its own leadership group reviews the tasks of the
    # units below it at its own meetings, and its letters carry its own number prefix.
    runs_own_cycle = models.BooleanField(
        _("runs its own review cycle"),
        default=False,
        help_text=_("Its own leadership group holds the review meetings of the tasks below it."),
    )
    letter_prefix = models.CharField(
        _("letter number prefix"),
        max_length=10,
        blank=True,
        help_text=_("Put before the numbers of the letters of its own cycle, e.g. 华东 in 华东纪督〔2026〕3号."),
    )
    # Units synced from the directory carry its id; one that left the directory is kept (its tasks
    # and history stay) but no longer active.
    directory_id = models.CharField(
        _("directory id"),
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text=_("The unit's entry in the directory (LDAP). Empty for units set up here."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        db_default=True,
        help_text=_("Units no longer in the organisation are kept for their history."),
    )
    division_leader = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_departments",
        verbose_name=_("division leader"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(
                fields=["directory_id"], condition=~Q(directory_id=""), name="one_unit_per_directory_entry"
            )
        ]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        ancestor, seen = self.parent, set()
        while ancestor is not None and ancestor.pk not in seen:
            if ancestor.pk == self.pk:
                raise ValidationError({"parent": _("A unit cannot belong to itself or to a unit below it.")})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
        # A cycle's letters are numbered in a series of its own, told apart by the prefix.
        if self.runs_own_cycle and not self.letter_prefix.strip():
            raise ValidationError(
                {"letter_prefix": _("A unit with its own review cycle needs a letter number prefix.")}
            )
        if (
            self.letter_prefix
            and Department.objects.filter(letter_prefix=self.letter_prefix).exclude(pk=self.pk).exists()
        ):
            raise ValidationError({"letter_prefix": _("Another unit uses this prefix.")})


class AssessmentYear(models.Model):
    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    green_above = models.DecimalField(
        _("green above (%)"),
        max_digits=4,
        decimal_places=1,
        default=DEFAULT_GREEN_ABOVE,
        help_text=_("Green when the final score is strictly above this value."),
    )
    red_below = models.DecimalField(
        _("red below (%)"),
        max_digits=4,
        decimal_places=1,
        default=DEFAULT_RED_BELOW,
        help_text=_("Red when the final score is strictly below this value; yellow in between."),
    )

    serious_below = models.DecimalField(
        _("serious below (%)"),
        max_digits=4,
        decimal_places=1,
        default=30,
        help_text=_("A follow-up case is flagged serious when the final score is below this value."),
    )
    serious_when_red_twice = models.BooleanField(
        _("serious when red twice"),
        default=True,
        help_text=_("Flag a case serious when the same task was also red at the previous meeting."),
    )
    serious_red_across_years = models.BooleanField(
        _("count last year's red"),
        default=True,
        help_text=_(
            "With 'serious when red twice': a task carried over and red at the first meeting is also serious "
            "when it was red at last year's last meeting."
        ),
    )
    # The response clock of a letter starts when its owner acknowledges it (签收).
    supervision_reply_days = models.PositiveSmallIntegerField(
        _("reply to a supervision letter within (working days)"), default=10
    )
    reminder_reply_days = models.PositiveSmallIntegerField(_("reply to a reminder within (working days)"), default=5)
    acknowledge_within_days = models.PositiveSmallIntegerField(
        _("acknowledge a letter within (days)"),
        default=2,
        help_text=_("A letter not acknowledged after this many days shows as overdue in the follow-up queue."),
    )

    class Meta:
        ordering = ["-year"]
        verbose_name = _("assessment year")
        verbose_name_plural = _("assessment years")
        constraints = [
            models.CheckConstraint(
                condition=Q(red_below__gte=0) & Q(green_above__lte=100) & Q(red_below__lte=models.F("green_above")),
                name="year_thresholds_ordered_within_0_100",
            ),
        ]

    def __str__(self):
        return str(self.year)

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.green_above is None or self.red_below is None:
            return
        try:
            validate_thresholds(green_above=self.green_above, red_below=self.red_below)
        except ValueError:
            raise ValidationError(
                _("Thresholds must lie between 0 and 100, and 'red below' may not exceed 'green above'.")
            ) from None


class Stage(models.Model):
    """One two-month stage of a year: at its end departments self-assess, then the
    leadership group meets."""

    year = models.ForeignKey(AssessmentYear, on_delete=models.CASCADE, related_name="stages", verbose_name=_("year"))
    number = models.PositiveSmallIntegerField(_("stage"))
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    self_assessment_due = models.DateField(_("self-assessment due"))
    meeting_date = models.DateField(_("meeting date"))

    class Meta:
        ordering = ["year", "number"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="stage_number_unique_per_year"),
            models.CheckConstraint(
                condition=Q(number__gte=1) & Q(number__lte=STAGES_PER_YEAR),
                name="stage_number_1_to_6",
            ),
            models.CheckConstraint(condition=Q(start__lte=models.F("end")), name="stage_starts_before_end"),
        ]

    def __str__(self):
        return _("%(year)s stage %(number)s") % {
            "year": self.year_id and self.year.year,
            "number": self.number,
        }

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.start and self.end and self.start > self.end:
            raise ValidationError({"end": _("A stage cannot end before it starts.")})
        if self.end and self.self_assessment_due and self.self_assessment_due < self.end:
            raise ValidationError({"self_assessment_due": _("Self-assessment is due on or after the stage's end.")})
        if self.self_assessment_due and self.meeting_date and self.meeting_date < self.self_assessment_due:
            raise ValidationError({"meeting_date": _("The meeting comes after the self-assessment is due.")})


class TaskList(models.Model):
    """One department's key task list for one year: drafted by its staff, approved by its
    division leader. Once approved, every change to a task needs a recorded reason."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")

    year = models.ForeignKey(
        AssessmentYear, on_delete=models.PROTECT, related_name="task_lists", verbose_name=_("year")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="task_lists", verbose_name=_("department")
    )
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.DRAFT)
    return_comment = models.TextField(_("comment on return"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["year", "department__code"]
        verbose_name = _("task list")
        verbose_name_plural = _("task lists")
        constraints = [
            models.UniqueConstraint(fields=["year", "department"], name="one_task_list_per_year_and_department")
        ]

    def __str__(self):
        return f"{self.department} · {self.year}"


class KeyTask(models.Model):
    """A key task (重点工作任务) of one department's list for one year."""

    year = models.ForeignKey(AssessmentYear, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("year"))
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("lead department"),
    )
    cooperating_departments = models.ManyToManyField(
        Department,
        related_name="cooperating_tasks",
        blank=True,
        verbose_name=_("cooperating departments"),
    )
    title = models.CharField(_("task"), max_length=200)
    standard = models.TextField(_("completion standard"))
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="owned_tasks", verbose_name=_("owner"))
    deadline = models.DateField(_("deadline"))
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2, default=1)
    # Carried over from last year's list (copied into this year's): its history continues.
    carried_from = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="carried_into",
        verbose_name=_("carried over from"),
    )

    class Meta:
        ordering = ["department__code", "id"]
        verbose_name = _("key task")
        verbose_name_plural = _("key tasks")
        constraints = [
            models.UniqueConstraint(fields=["year", "department", "title"], name="task_title_unique_per_list"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="task_weight_positive"),
        ]

    def __str__(self):
        return self.title


class StageTarget(models.Model):
    """What a task must achieve by the end of one stage (阶段性目标)."""

    task = models.ForeignKey(KeyTask, on_delete=models.CASCADE, related_name="targets", verbose_name=_("task"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="targets", verbose_name=_("stage"))
    description = models.TextField(_("stage target"))

    class Meta:
        ordering = ["task", "stage__number"]
        verbose_name = _("stage target")
        verbose_name_plural = _("stage targets")
        constraints = [models.UniqueConstraint(fields=["task", "stage"], name="one_target_per_task_and_stage")]

    def __str__(self):
        return self.description


class SelfAssessment(Versioned):
    """A department's own score of a task for one stage (自评). Edited under optimistic locking:
    of two people saving one draft, the second is told who changed it first."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        CONFIRMED = "confirmed", _("Confirmed")
        RETURNED = "returned", _("Returned")

    # Sent to the leader (and perhaps confirmed): the self score now counts.
    SUBMITTED_STATES = (State.SUBMITTED, State.CONFIRMED)

    task = models.ForeignKey(KeyTask, on_delete=models.CASCADE, related_name="assessments", verbose_name=_("task"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("stage"))
    completion = models.DecimalField(_("completion (%)"), max_digits=4, decimal_places=1, null=True, blank=True)
    account = models.TextField(_("account of work done"), blank=True)
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.DRAFT)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    return_comment = models.TextField(_("comment on return"), blank=True)
    returned_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("returned by")
    )

    class Meta:
        ordering = ["task", "stage__number"]
        verbose_name = _("self-assessment")
        verbose_name_plural = _("self-assessments")
        constraints = [
            models.UniqueConstraint(fields=["task", "stage"], name="one_self_assessment_per_task_and_stage"),
            models.CheckConstraint(
                condition=Q(completion__isnull=True) | (Q(completion__gte=0) & Q(completion__lte=100)),
                name="self_assessment_completion_0_100",
            ),
        ]

    def __str__(self):
        return f"{self.task} · {self.stage}"

    @property
    def is_late(self):
        """Submitted after the stage's self-assessment due date (allowed, but shown)."""
        if self.submitted_at is None:
            return False
        return timezone.localdate(self.submitted_at) > self.stage.self_assessment_due

    @property
    def submitted_score(self):
        """The self score once submitted to the leader; a draft or returned score stands for
        nothing yet (see lightboard.lights.stage_standing)."""
        return self.completion if self.state in self.SUBMITTED_STATES else None

    @property
    def awaits_confirmation(self):
        """Submitted, waiting for the division leader to confirm, adjust or return it."""
        return self.state == self.State.SUBMITTED

    @property
    def is_editable(self):
        """Staff may change a draft or a returned assessment; a submitted one waits for the leader."""
        return self.state in (self.State.DRAFT, self.State.RETURNED)


def evidence_path(instance, filename):
    return f"evidence/{instance.assessment.stage.year_id}/{instance.assessment_id}/{filename}"


class Evidence(models.Model):
    """A file that supports a self-assessment. Served only through an access-checked view."""

    assessment = models.ForeignKey(
        SelfAssessment, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("self-assessment")
    )
    file = models.FileField(_("file"), upload_to=evidence_path)
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self):
        return self.original_name


class AuditEntry(models.Model):
    """Who changed which score, state or task, when, from what to what, and why."""

    class Action(models.TextChoices):
        CREATE_TASK = "create task", _("Task created")
        CHANGE_TASK = "change task", _("Task changed")
        SUBMIT_LIST = "submit list", _("List submitted")
        APPROVE_LIST = "approve list", _("List approved")
        RETURN_LIST = "return list", _("List returned")
        SAVE_SELF_ASSESSMENT = "save self-assessment", _("Self-assessment saved")
        SUBMIT_SELF_ASSESSMENT = "submit self-assessment", _("Self-assessment submitted")
        REMOVE_EVIDENCE = "remove evidence", _("Evidence file removed")
        EDIT_COMMENT = "edit comment", _("Comment edited")
        INSTRUCTION = "instruction", _("Instruction (批示) given")
        REQUEST_CHANGE = "request change", _("Change requested")
        APPROVE_CHANGE = "approve change", _("Change approved")
        REJECT_CHANGE = "reject change", _("Change rejected")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("by")
    )
    # Later apps record their own actions too, so the field accepts any key; the choices
    # here only give the tasks app's keys their names.
    action = models.CharField(_("action"), max_length=50)
    subject_type = models.CharField(_("subject"), max_length=50)
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    task = models.ForeignKey(
        KeyTask, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_entries", verbose_name=_("task")
    )
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # A deputy's action (代理): the person the actor stood in for.
    on_behalf_of = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("for")
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action}"


class Comment(models.Model):
    """A remark in the discussion of a task, or of one of its follow-up cases: `thread` names
    which ("" is the task's own; an app built on tasks names its threads, e.g. "case:12"). A
    member of the leadership group may mark a comment as an instruction (批示). A comment is
    never edited silently: each edit keeps the earlier text as a revision."""

    task = models.ForeignKey(KeyTask, on_delete=models.CASCADE, related_name="comments", verbose_name=_("task"))
    thread = models.CharField(_("discussion"), max_length=40, blank=True)
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("author"))
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    mentioned = models.ManyToManyField(User, related_name="+", blank=True, verbose_name=_("mentioned"))
    is_instruction = models.BooleanField(_("instruction (批示)"), default=False)
    instructed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("marked by")
    )
    instructed_at = models.DateTimeField(_("marked at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [
            models.Index(fields=["task", "thread"]),
            models.Index(fields=["is_instruction", "instructed_at"]),
        ]

    def __str__(self):
        return f"{self.author}: {self.text[:40]}"


class CommentRevision(models.Model):
    """The text a comment had before an edit."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("comment"))
    text = models.TextField(_("earlier text"))
    written_at = models.DateTimeField(_("written at"))
    replaced_at = models.DateTimeField(_("replaced at"), auto_now_add=True)

    class Meta:
        ordering = ["written_at", "id"]
        verbose_name = _("earlier version of a comment")
        verbose_name_plural = _("earlier versions of comments")

    def __str__(self):
        return f"{self.comment_id} @ {self.written_at:%Y-%m-%d %H:%M}"


class ChangeRequest(models.Model):
    """A request to change a task of an approved list: extend its deadline, or change a stage
    target or the completion standard, with a reason. The leadership group approves or rejects
    it; an approved one changes the task and stays as the record of the change: what it was,
    what it became, who asked, who decided and why."""

    class Kind(models.TextChoices):
        DEADLINE = "deadline", _("Deadline extension")
        TARGET = "target", _("Change of a stage target")
        STANDARD = "standard", _("Change of the completion standard")

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting the leadership group")
        APPROVED = "approved", _("Agreed by the leadership group")
        REJECTED = "rejected", _("Rejected")

    task = models.ForeignKey(KeyTask, on_delete=models.CASCADE, related_name="change_requests", verbose_name=_("task"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("stage")
    )
    old_deadline = models.DateField(_("deadline before"), null=True, blank=True)
    new_deadline = models.DateField(_("requested deadline"), null=True, blank=True)
    old_text = models.TextField(_("text before"), blank=True)
    new_text = models.TextField(_("requested text"), blank=True)
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.PENDING)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(_("comment on the decision"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        indexes = [models.Index(fields=["state", "decided_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.task}"

    @property
    def before(self):
        return self.old_deadline if self.kind == self.Kind.DEADLINE else self.old_text

    @property
    def after(self):
        return self.new_deadline if self.kind == self.Kind.DEADLINE else self.new_text


class Deputy(models.Model):
    """Someone standing in for an absent division leader or inspector from one day to another
    (代理): meanwhile the deputy's queue includes the absent person's items, and each action
    the deputy takes for them is recorded as "by the deputy for them". The deputy holds the
    same role; outside the dates the absent person's items are not theirs."""

    ROLES = (Role.DIVISION_LEADER, Role.INSPECTOR)

    principal = models.ForeignKey(User, on_delete=models.CASCADE, related_name="deputies", verbose_name=_("absent"))
    deputy = models.ForeignKey(User, on_delete=models.CASCADE, related_name="standing_in", verbose_name=_("deputy"))
    role = models.CharField(_("role"), max_length=30, choices=[(role.value, role.label) for role in ROLES])
    starts = models.DateField(_("from"))
    ends = models.DateField(_("until"))
    created_at = models.DateTimeField(_("named at"), auto_now_add=True)

    class Meta:
        ordering = ["-starts", "-id"]
        verbose_name = _("deputy")
        verbose_name_plural = _("deputies")
        constraints = [
            models.CheckConstraint(condition=Q(ends__gte=models.F("starts")), name="deputy_ends_after_it_starts"),
            models.CheckConstraint(condition=~Q(principal=models.F("deputy")), name="deputy_is_someone_else"),
        ]
        indexes = [models.Index(fields=["deputy", "role", "starts", "ends"])]

    def __str__(self):
        return f"{self.deputy} → {self.principal} ({self.starts}–{self.ends})"


class LibraryTask(models.Model):
    """A recurring task of the task library (任务库) that a department picks when it drafts its
    list: its title, completion standard, weight and the usual targets of the six stages."""

    title = models.CharField(_("task"), max_length=200, unique=True)
    standard = models.TextField(_("completion standard"))
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2, default=1)
    targets = models.JSONField(
        _("stage targets"), default=list, blank=True, help_text=_("The six stages' usual targets, in order.")
    )
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("library task")
        verbose_name_plural = _("task library")
        constraints = [models.CheckConstraint(condition=Q(weight__gt=0), name="library_task_weight_positive")]

    def __str__(self):
        return self.title


class ImportJob(models.Model):
    """An Excel import too large for one request, run by a Celery worker: the stored upload,
    how far it got and how it ended (the counts, or every row error). All or nothing, as the
    import in a request."""

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    task_list = models.ForeignKey(
        TaskList, on_delete=models.CASCADE, related_name="import_jobs", verbose_name=_("task list")
    )
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("rows processed"), default=0)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    # [[row, column, message], …] when the file was refused.
    errors = models.JSONField(_("problems"), default=list, blank=True)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def __str__(self):
        return f"{self.task_list} · {self.rows} · {self.state}"

    @property
    def finished(self):
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def percent(self):
        return 100 if self.state == self.State.DONE else (100 * self.processed // self.rows if self.rows else 0)
