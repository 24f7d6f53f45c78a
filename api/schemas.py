"""What the API answers and accepts, as the OpenAPI document describes it. People appear by name
only; nothing else personal (no usernames, e-mail, phones), no evidence files, no letter texts."""

import datetime
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

Light = Literal["green", "yellow", "red", "missing"]
Source = Literal["final", "confirmed", "self", "none"]
MAX_ID = 2**63 - 1


class Error(Schema):
    detail: str = Field(description="What went wrong, in the interface language.")
    errors: dict[str, list[str]] = Field(
        default_factory=dict, description="Per field of the request: what is wrong with it."
    )


class Unit(Schema):
    id: int
    code: str
    name: str


class UnitDetail(Unit):
    kind: Literal["department", "subsidiary"]
    parent_id: int | None
    is_active: bool


class Person(Schema):
    name: str


class StageDates(Schema):
    number: int
    start: datetime.date
    end: datetime.date
    self_assessment_due: datetime.date
    meeting_date: datetime.date


class Year(Schema):
    year: int
    green_above: float = Field(description="Green when the score is strictly above this.")
    red_below: float = Field(description="Red when the score is strictly below this; yellow in between.")
    stages: list[StageDates]


class TaskListRow(Schema):
    year: int
    department: Unit
    state: Literal["draft", "submitted", "approved"]
    task_count: int


class SelfAssessment(Schema):
    state: Literal["none", "draft", "submitted", "confirmed", "returned"]
    completion: float | None
    account: str
    version: int = Field(description="Send it back with a write: a write based on an older version is refused.")
    submitted_at: datetime.datetime | None
    submitted_by: Person | None
    late: bool
    return_comment: str


class Stage(Schema):
    number: int
    start: datetime.date
    end: datetime.date
    self_assessment_due: datetime.date
    target: str
    self_assessment: SelfAssessment
    confirmed_score: float | None
    final_score: float | None
    score: float | None = Field(description="The score that stands: final, else confirmed, else submitted self score.")
    score_source: Source
    light: Light


class Task(Schema):
    id: int
    year: int
    department: Unit
    cooperating_departments: list[Unit]
    title: str
    standard: str
    owner: Person
    deadline: datetime.date
    weight: float
    stages: list[Stage]


class LightRow(Schema):
    task_id: int
    title: str
    department: Unit
    year: int
    stage: int
    score: float | None
    score_source: Source
    light: Light


class Counts(Schema):
    green: int
    yellow: int
    red: int
    missing: int


class Meeting(Schema):
    id: int
    year: int
    stage: int
    unit: Unit | None = Field(description="The subsidiary whose own cycle it is; null for the group's.")
    date: datetime.date
    place: str
    state: Literal["scheduled", "in_session", "closed"]
    opened_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    counts: Counts


class RatingRow(Schema):
    task_id: int
    title: str
    department: Unit
    owner: Person
    final_score: float | None
    light: Light
    decision: str
    next_stage_target: str


class MeetingDetail(Meeting):
    attendees: list[Person]
    ratings: list[RatingRow]


class Amendment(Schema):
    task_id: int
    old_score: float
    new_score: float
    old_light: str
    new_light: str
    reason: str
    by: Person
    at: datetime.datetime


class Instruction(Schema):
    task_id: int
    text: str
    by: Person | None
    at: datetime.datetime | None


class ApprovedChange(Schema):
    task_id: int
    kind: Literal["deadline", "target", "standard"]
    before: str
    after: str
    reason: str
    decided_at: datetime.datetime | None


class Minutes(Schema):
    meeting: Meeting
    attendees: list[Person]
    counts: Counts
    follow_up: list[RatingRow]
    commended: list[RatingRow]
    amendments: list[Amendment]
    instructions: list[Instruction]
    changes: list[ApprovedChange]


class CaseTask(Schema):
    id: int
    title: str
    department: Unit


class Case(Schema):
    id: int
    kind: Literal["reminder", "supervision"]
    state: Literal["open", "notified", "interview_scheduled", "interviewed", "rectifying", "closed", "escalated"]
    light: Light
    final_score: float | None
    serious: bool
    due_date: datetime.date
    task: CaseTask
    year: int
    stage: int
    meeting_id: int
    inspector: Person | None
    created_at: datetime.datetime
    closed_at: datetime.datetime | None


class CaseStep(Schema):
    at: datetime.datetime
    action: str
    from_state: str
    to_state: str
    by: Person | None


class LetterRow(Schema):
    number: str
    kind: Literal["reminder", "supervision", "interview", "commendation"]
    issued_at: datetime.datetime
    acknowledged_at: datetime.datetime | None
    reply_due: datetime.date | None


class CaseDetail(Case):
    steps: list[CaseStep]
    letters: list[LetterRow]


# --- writes ------------------------------------------------------------------------------

# The patterns are read as Python reads them (python-re), as the rules behind them are written.
_WRITE_CONFIG = ConfigDict(extra="forbid", regex_engine="python-re")
USERNAME = Field(
    min_length=1,
    max_length=150,
    pattern=r"^[\w.@+-]+$",
    description="The sign-in name of the person the integration writes for: a member of staff of the task's "
    "department, as on the self-assessment page. The history shows them, through this integration.",
)
VERSION = Field(ge=0, le=2**31 - 1, description="The self-assessment's `version` as last read (0 before the first).")
COMPLETION = Field(ge=0, le=100, multiple_of=0.1, description="Completion of the stage's target in %, one decimal.")


class Draft(Schema):
    model_config = _WRITE_CONFIG

    acting_for: str = USERNAME
    version: int = VERSION
    completion: float | None = Field(None, ge=0, le=100, multiple_of=0.1, description=COMPLETION.description)
    account: str = Field("", max_length=5000, pattern=r"^[^\x00]*$", description="What was done.")


class Submission(Schema):
    model_config = _WRITE_CONFIG

    acting_for: str = USERNAME
    version: int = VERSION
    completion: float = COMPLETION
    account: str = Field(
        max_length=5000, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$", description="What was done (required to submit)."
    )
