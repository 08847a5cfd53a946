"""API contract tests driven by the OpenAPI schema (schemathesis): for every operation in
/api/schema, generated requests (valid and invalid parameters) against the UI dataset
must never give a 5xx, and every answer must have a documented status code, content type
and headers and a body that matches the schema of that status code.

Not checked: that every value the schema allows is accepted. Some rules cannot be said
in a schema: a cursor is valid only if the API issued it, 2025-02-30 is no date, `from`
must not be after `to`. Those answer 400 with a message (tests/api/test_endpoints.py and
test_pagination.py assert each), and this test still checks that the 400 is documented
and its body is the documented error.

The schema is the app's own and requests go to the app in-process through WSGI (no
network), inside the test's transaction holding the dataset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from ninja.responses import NinjaJSONEncoder
from schemathesis.specs.openapi.checks import positive_data_acceptance

from governance.api import api
from tests.governance.ui_data import UIData

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 30


def _schema_document() -> dict[str, Any]:
    """The document /api/schema serves, built without a request (and so without the
    database, which is closed while pytest collects this module)."""
    document = api.get_openapi_schema()
    return json.loads(json.dumps(document, cls=NinjaJSONEncoder))


# The app is called in-process through WSGI (schemathesis's transport for an `app`).
schema = schemathesis.openapi.from_dict(_schema_document())
schema.app = get_wsgi_application()


@pytest.fixture
def wsgi_keeps_the_test_transaction() -> Iterator[None]:
    """A raw WSGI request would close the connection at its end (close_old_connections
    sees the test's transaction as "not autocommit") and lose the dataset; Django's test
    client disconnects the handler the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_keeps_its_contract(
    case: Any, ui_data: UIData, unthrottled: None, wsgi_keeps_the_test_transaction: None
) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


def test_the_schema_is_the_one_served(client: Any) -> None:
    response = client.get("/api/schema")
    assert response.status_code == 200
    assert response.json() == _schema_document()


def test_the_schema_lists_every_endpoint() -> None:
    document = _schema_document()
    paths = set(document["paths"])
    assert paths == {
        "/api/proposals",
        "/api/proposals/{slug}",
        "/api/countries",
        "/api/countries/{code}",
        "/api/people",
        "/api/people/{slug}",
        "/api/organizations",
        "/api/organizations/{slug}",
        "/api/statements",
        "/api/statements/{id}",
        "/api/participation",
        "/api/events",
        "/api/events/{slug}",
        "/api/documents",
        "/api/documents/{id}",
    }
    for path, operations in document["paths"].items():
        assert set(operations) == {"get"}, path  # read-only
