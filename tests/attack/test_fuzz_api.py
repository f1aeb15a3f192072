"""Schema-driven fuzzing of the API with schemathesis, authenticated: no 5xx, and every response (status,
content type, headers, body) conforms to what the OpenAPI document says."""

import hypothesis
import pytest
import schemathesis
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

# Imported now, at collection, rather than lazily by from_wsgi() inside a test, while other apps' background
# threads run: CPython 3.11's compiler is not thread-safe there ("AST constructor recursion depth mismatch").
from schemathesis.specs.openapi import schemas as _openapi_schemas  # noqa: F401

EXAMPLES = 25


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
def test_api_conforms_to_its_schema_and_never_fails(case, auth):
    case.call_and_validate(
        headers=auth,
        checks=[
            checks.not_a_server_error,
            openapi_checks.status_code_conformance,
            openapi_checks.content_type_conformance,
            openapi_checks.response_headers_conformance,
            openapi_checks.response_schema_conformance,
        ],
    )
