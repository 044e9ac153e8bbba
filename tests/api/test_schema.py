"""Schemathesis over every operation of the live OpenAPI schema: no 5xx, no response off-schema."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from mqa.services.api_keys import SCOPES, api_key_create

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# `make test` tries 25 cases per operation; MQA_SCHEMATHESIS_EXAMPLES=100 is the deeper run.
EXAMPLES = int(os.environ.get("MQA_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def auth_header(db: None) -> Iterator[dict[str, str]]:
    # The WSGI handler closes database connections after each request; inside the test's
    # transaction that would end it. Django's own test client unhooks the same signal.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    _, secret = api_key_create(name="schemathesis", scopes=SCOPES)
    yield {"Authorization": f"Api-Key {secret}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_schema_lists_every_endpoint():
    paths = set(schema.raw_schema["paths"])

    assert paths == {
        "/api/v1/accounts",
        "/api/v1/accounts/bulk",
        "/api/v1/accounts/{domain}/history",
        "/api/v1/accounts/{domain}/readiness",
        "/api/v1/accounts/{domain}/series",
        "/api/v1/contacts",
        "/api/v1/contacts/bulk",
        "/api/v1/contacts/erase",
        "/api/v1/contacts/{contact_id}",
        "/api/v1/contacts/{contact_id}/history",
        "/api/v1/events/bulk",
        "/api/v1/handoffs",
        "/api/v1/handoffs/{handoff_id}/accept",
        "/api/v1/handoffs/{handoff_id}/assign",
        "/api/v1/handoffs/{handoff_id}/reject",
        "/api/v1/handoffs/{handoff_id}/outcome",
        "/api/v1/routing",
        "/api/v1/pipeline",
        "/api/v1/reports/calibration",
        "/api/v1/reports/calibration/suggestion",
        "/api/v1/reports/funnel",
        "/api/v1/scoring-models",
        "/api/v1/scoring-models/active",
        "/api/v1/scoring-models/{version_id}",
        "/api/v1/scoring-models/{version_id}/preview",
        "/api/v1/scoring-models/{version_id}/publish",
        "/api/v1/scoring-models/{version_id}/rollback",
        "/api/v1/signals/bulk",
        "/v1/alias",
        "/v1/batch",
        "/v1/group",
        "/v1/identify",
        "/v1/page",
        "/v1/screen",
        "/v1/track",
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)
def test_every_operation_conforms(case, auth_header):
    case.call_and_validate(headers=auth_header, checks=CHECKS)


def test_the_browsable_docs_are_served_from_local_static_files(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    # Nothing loaded from elsewhere (the page's random CSRF token may spell "cdn").
    assert re.findall(r'(?:src|href)="(https?:)?//', page) == []
    assert client.get("/api/schema/").status_code == 200


def test_a_body_that_is_not_json_is_a_documented_415(api):
    response = api.post("/api/v1/reports/calibration", "cutoff=x", content_type="text/plain")

    assert response.status_code == 415
    responses = schema.raw_schema["paths"]["/api/v1/reports/calibration"]["post"]["responses"]
    assert "415" in responses
