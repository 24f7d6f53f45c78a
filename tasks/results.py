"""What the review of a task's stages has produced so far: the division leader's confirmed
score, the leadership group's final score and its light, a follow-up case. Those are recorded by
the apps built on tasks; tasks reads them through the one source such an app registers at
start-up (`register_result_source`), so that it imports none of them."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CaseLink:
    """A follow-up case as the task pages show it: what it is, and where it is."""

    label: str
    url: str


@dataclass(frozen=True)
class StageResult:
    confirmed: Decimal | None = None
    final: Decimal | None = None
    final_light: str = ""
    case: CaseLink | None = None


NO_RESULT = StageResult()
_source = None


def register_result_source(source):
    """`source(tasks)` returns {(task_id, stage number): StageResult} for the given tasks (a
    queryset, or a list of their ids: cheaper when the tasks are already read) and the stages
    that have a result, in a fixed number of queries whatever their number. One app registers
    it, from its AppConfig.ready(); without one, no stage has a result beyond its
    self-assessment."""
    global _source
    _source = source


def stage_results(tasks):
    return _source(tasks) if _source is not None else {}
