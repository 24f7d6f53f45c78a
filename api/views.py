"""The JSON API for integrations (the OA system and others), /api/v1/. Thin views: authenticate the
token, find the object within the account's units (404 outside them), call the query or the
service, answer. The OpenAPI document is /api/v1/openapi.json, browsable at /api/v1/docs."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Path, Query, Swagger
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import paginate
from ninja.renderers import JSONRenderer

from lightboard.versioning import StaleEdit

from . import access, queries, schemas, services
from .auth import TokenAuth
from .errors import field_message
from .pagination import Pages
from .throttling import TokenRateThrottle

DESCRIPTION = """
Read the key task lists, tasks with their stage targets, the light that stands for each task and
stage, the review meetings and their minutes, and the follow-up cases of the units an integration
account reads (each unit with every unit below it); write a self-assessment draft and submit it.

Authenticate with the account's token: `Authorization: Bearer lb_…` (an administrator creates the
account in the admin, which shows the token once). Lists come a page at a time (`page`,
`page_size`). Each token may make a limited number of requests a minute; over it the answer is
429 with `Retry-After`. Errors are `{"detail": "...", "errors": {"field": ["..."]}}`.
"""


class Renderer(JSONRenderer):
    """JSON in UTF-8 as it is (names in Chinese read as Chinese with curl), not \\u-escaped."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="lightboard API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=TokenAuth(),
    renderer=Renderer(),
    throttle=TokenRateThrottle(),
    # Swagger UI from our own static files (ninja's), with no call to the online validator: the
    # page works on a closed intranet and under the site's Content-Security-Policy.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)

Error = schemas.Error
READ_ERRORS = {401: Error, 404: Error, 422: Error, 429: Error}
WRITE_ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error, 429: Error}
ID = Path(..., ge=1, le=schemas.MAX_ID)
YEAR = Query(None, ge=1, le=32767, description="The assessment year, e.g. 2026.")


# --- errors: one shape for all -------------------------------------------------------------


def _error(request, status, detail, errors=None):
    return api.create_response(request, {"detail": str(detail), "errors": errors or {}}, status=status)


@api.exception_handler(NinjaValidationError)
def _invalid_request(request, exc):
    found = {}
    for error in exc.errors:
        # ("body", <the view's parameter>, field, ...) or ("query" | "path", field, ...)
        location = [str(part) for part in error.get("loc", ())]
        field = location[2:] if location[:1] == ["body"] else location[1:]
        found.setdefault(".".join(field) or "request", []).append(field_message(error))
    return _error(request, 422, _("Check the fields named in errors."), found)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    response = _error(request, 401, _("Send a valid token: Authorization: Bearer <token>."))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Throttled)
def _throttled(request, exc):
    return _error(request, 429, _("Too many requests for this token; try again after Retry-After seconds."))


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return _error(request, exc.status_code, exc.message)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, _("Not found."))


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    errors = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    messages = [message for field_messages in errors.values() for message in field_messages]
    errors = {field: messages for field, messages in errors.items() if field}
    return _error(request, 403, " ".join(messages) or _("Not allowed."), errors)


@api.exception_handler(DjangoValidationError)
def _refused(request, exc):
    """A rule of the service refused the write, and nothing was saved: bad values of fields 422;
    a record changed by someone else since it was read, or in a state that does not allow it, 409."""
    if isinstance(exc, StaleEdit) or not hasattr(exc, "error_dict"):
        return _error(request, 409, " ".join(exc.messages))
    errors = {("request" if field == "__all__" else field): messages for field, messages in exc.message_dict.items()}
    return _error(request, 422, _("Check the fields named in errors."), errors)


def query(*names):
    """The query parameters an operation takes; any other is refused (422 naming it): a misspelt
    filter must not quietly read everything."""
    allowed = set(names)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            unknown = sorted(set(request.GET) - allowed)
            if unknown:
                raise NinjaValidationError(
                    [{"loc": ("query", name), "msg": _("This operation takes no such parameter.")} for name in unknown]
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


PAGE = ("page", "page_size")


def _or_404(value):
    """What a query found, or 404 when it found nothing."""
    if value is None:
        raise Http404
    return value


# --- reading -------------------------------------------------------------------------------


@api.get("/years", response={200: list[schemas.Year], **READ_ERRORS}, tags=["organisation"])
@paginate(Pages)
@query(*PAGE)
def years(request):
    """The assessment years, newest first, with their thresholds and the dates of their six stages."""
    return queries.years()


@api.get("/units", response={200: list[schemas.UnitDetail], **READ_ERRORS}, tags=["organisation"])
@paginate(Pages)
@query(*PAGE)
def units(request):
    """The units (departments and subsidiaries) this account reads."""
    return queries.units(request.auth)


@api.get("/task-lists", response={200: list[schemas.TaskListRow], **READ_ERRORS}, tags=["tasks"])
@paginate(Pages)
@query("year", *PAGE)
def task_lists(request, year: int | None = YEAR):
    """Each unit's key task list for the year (this year by default): its state and number of tasks."""
    return queries.task_lists(request.auth, _or_404(queries.get_year(year)))


CODE = Query(
    None,
    max_length=20,
    pattern=r"^[-a-zA-Z0-9_]+$",
    description="A unit's code: its tasks and those of the units below it.",
)


@api.get("/tasks", response={200: list[schemas.Task], **READ_ERRORS}, tags=["tasks"])
@paginate(Pages)
@query("year", "unit", *PAGE)
def tasks(request, year: int | None = YEAR, unit: str | None = CODE):
    """Key tasks with their stage targets, self-assessments, scores and the light that stands for each stage."""
    unit_ids = access.unit_ids(request.auth, unit) if unit else None
    return queries.tasks(request.auth, year=year, unit_ids=unit_ids)


@api.get("/tasks/{task_id}", response={200: schemas.Task, **READ_ERRORS}, tags=["tasks"])
@query()
def task(request, task_id: int = ID):
    """One key task with its stages."""
    return queries.task_row(access.get_task(request.auth, task_id))


@api.get("/lights", response={200: list[schemas.LightRow], **READ_ERRORS}, tags=["tasks"])
@paginate(Pages)
@query("year", "stage", *PAGE)
def lights(
    request,
    year: int | None = YEAR,
    stage: int | None = Query(None, ge=1, le=6, description="The stage, 1 to 6 (by default today's)."),
):
    """The light that stands for each task at one stage: the final score's, else the confirmed
    score's, else the submitted self score's, else missing."""
    assessment_year = _or_404(queries.get_year(year))
    return queries.lights(request.auth, _or_404(queries.get_stage(assessment_year, stage)))


MeetingState = schemas.Meeting.model_fields["state"].annotation


@api.get("/meetings", response={200: list[schemas.Meeting], **READ_ERRORS}, tags=["meetings"])
@paginate(Pages)
@query("year", "state", *PAGE)
def meetings(request, year: int | None = YEAR, state: MeetingState | None = None):
    """The review meetings of the cycles this account reads, newest first, with their counts of lights."""
    return queries.meetings(request.auth, year=year, state=state)


@api.get("/meetings/{meeting_id}", response={200: schemas.MeetingDetail, **READ_ERRORS}, tags=["meetings"])
@query()
def meeting(request, meeting_id: int = ID):
    """A meeting with its attendees and each task's final score, light and handling decision."""
    return queries.meeting(access.get_meeting(request.auth, meeting_id))


@api.get("/meetings/{meeting_id}/minutes", response={200: schemas.Minutes, **READ_ERRORS}, tags=["meetings"])
@query()
def minutes(request, meeting_id: int = ID):
    """The minutes of a closed meeting (404 before it closes)."""
    found = access.get_meeting(request.auth, meeting_id)
    if not found.is_closed:
        raise Http404
    return queries.minutes(found)


CaseState = schemas.Case.model_fields["state"].annotation
Light = schemas.Light


@api.get("/cases", response={200: list[schemas.Case], **READ_ERRORS}, tags=["follow-up"])
@paginate(Pages)
@query("state", "light", *PAGE)
def cases(request, state: CaseState | None = None, light: Light | None = None):
    """The follow-up cases of red and yellow results in the units this account reads, by due date."""
    return queries.cases(request.auth, state=state, light=light)


@api.get("/cases/{case_id}", response={200: schemas.CaseDetail, **READ_ERRORS}, tags=["follow-up"])
@query()
def case(request, case_id: int = ID):
    """A case with its steps and the numbers and dates of its letters."""
    return _or_404(queries.get_case(request.auth, case_id))


# --- self-assessments ----------------------------------------------------------------------

NUMBER = Path(..., ge=1, le=6, description="The stage, 1 to 6.")
SELF_ASSESSMENT = "/tasks/{task_id}/stages/{number}/self-assessment"


def _task_stage(integration, task_id, number):
    found = access.get_task(integration, task_id)
    return found, _or_404(queries.get_stage(found.year, number))


@api.get(SELF_ASSESSMENT, response={200: schemas.Stage, **READ_ERRORS}, tags=["self-assessment"])
@query()
def stage(request, task_id: int = ID, number: int = NUMBER):
    """A task's stage: its target, the self-assessment (with the version to send back) and its light."""
    return queries.task_stage(*_task_stage(request.auth, task_id, number))


def _write(request, task_id, number, data, *, submit):
    found, chosen = _task_stage(request.auth, task_id, number)
    services.write_self_assessment(
        integration=request.auth, task=found, stage=chosen, username=data.acting_for, version=data.version,
        completion=data.completion, account=data.account, submit=submit,
    )  # fmt: skip
    return queries.task_stage(found, chosen)


@api.put(SELF_ASSESSMENT, response={200: schemas.Stage, **WRITE_ERRORS}, tags=["self-assessment"])
@query()
def save_draft(request, data: schemas.Draft, task_id: int = ID, number: int = NUMBER):
    """Save the stage's self-assessment as a draft for a member of staff of the task's department.
    The rules of the self-assessment page hold: the stage must have begun, a submitted assessment
    waits for the division leader, `version` must be the one last read."""
    return _write(request, task_id, number, data, submit=False)


@api.post(SELF_ASSESSMENT + "/submit", response={200: schemas.Stage, **WRITE_ERRORS}, tags=["self-assessment"])
@query()
def submit(request, data: schemas.Submission, task_id: int = ID, number: int = NUMBER):
    """Submit the stage's self-assessment to the division leader (completion and account required)."""
    return _write(request, task_id, number, data, submit=True)
