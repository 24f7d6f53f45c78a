"""A property-based run of schemathesis against the live API: every operation of the OpenAPI
document, valid and invalid requests, with a read+write token over a small world of tasks,
meetings and cases. No answer may be a server error, and every answer must match the document
(schemathesis' checks: status code, content type, headers and body against the schema, invalid
data refused, valid data not refused for its shape, authentication not ignored).

Each operation runs as a Hypothesis test of its own (the strategy of the operation, as
schemathesis' guide to strategies shows) inside one pytest test, so the live server and the world
are set up once. schemathesis.pytest.from_fixture would do the same, but its lazy loader sets a
private attribute pytest 9 no longer has."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.test_api import account, bearer, world  # noqa: F401 - the world fixture

# A handful of examples per operation and mode keeps the run within a minute on PostgreSQL; the
# same examples each run (derandomize), so a failure here is a failure next time too.
EXAMPLES = 10
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@pytest.fixture
def live_api(live_server, transactional_db, world, settings):  # noqa: F811
    settings.API_RATE_LIMIT = 1_000_000
    _integration, token = account("OA系统", whole_group=True, access="read_write")
    return live_server.url, token


def test_every_operation_answers_as_documented(live_api):
    base_url, token = live_api
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    failures = {}
    for operation in operations:
        for mode in MODES:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
            def answers_as_documented(case):
                case.call_and_validate(base_url=base_url, headers=bearer(token))

            try:
                answers_as_documented()
            except Exception as error:  # noqa: BLE001 - every operation runs; all failures are reported
                failures[f"{operation.label} ({mode.value})"] = error
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())
