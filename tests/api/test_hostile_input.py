"""Every operation of the OpenAPI schema, fed what a hostile or broken client sends (SPEC §7
*Errors*): NUL characters in every string parameter and field, 100k-character strings, JSON
nested 500 deep in every JSON field, invalid UTF-8, numbers out of their column's range,
instants outside years 1–9999, bodies that are not JSON. Each answer is a 4xx
`application/problem+json` and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.apps import apps
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from tests.factories import TEST_MODEL

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in SCHEMA["paths"].items()
    for method, operation in item.items()
]
NUL = "a\x00b"
LONG = "x" * 100_000
DEEP: Any = {}
for _ in range(500):
    DEEP = {"a": DEEP}
TOO_FAR = "0001-01-01T00:00:00+14:00"
BIG = 2**63
PATH_VALUES = {"domain": "acme.com", "contact_id": "1", "version_id": "1", "handoff_id": "1"}
NOW = timezone.now() - timedelta(minutes=1)
# A valid body per operation that takes one; each hostile variant changes one value of it.
BODIES: dict[str, Any] = {
    "accounts_bulk_upsert": {"items": [{"domain": "acme.com", "employee_count": 5}]},
    "contacts_bulk_upsert": {"items": [{"email": "jo@acme.com", "title": "CTO"}]},
    "contacts_erase": {"emails": ["jo@acme.com"]},
    "events_bulk_ingest": {
        "items": [
            {
                "email": "jo@acme.com",
                "type": "page_view",
                "id": "e1",
                "occurred_at": NOW.isoformat(),
            }
        ]
    },
    "signals_bulk_ingest": {
        "items": [
            {
                "account_domain": "acme.com",
                "type": "intent",
                "id": "s1",
                "occurred_at": NOW.isoformat(),
            }
        ]
    },
    "routing_put": {
        "queues": [{"name": "q", "members": [{"assignee": "ann", "active": True, "capacity": 2}]}],
        "rules": [],
        "default_queue": "q",
    },
    "scoring_model_import": TEST_MODEL,
    "scoring_model_publish": {"route": True},
    "scoring_model_rollback": {"route": True},
    "handoff_reject": {"reason": "timing", "note": ""},
    "handoff_outcome": {"outcome": "won"},
    "handoff_assign": {"assignee": "ann"},
    "reports_calibration_backtest": {"cutoff": NOW.isoformat(), "horizon_days": 30},
    "reports_calibration_suggestion": {"cutoff": NOW.isoformat(), "horizon_days": 30},
    **{
        f"tracking_{kind}": {
            "messageId": "m1",
            "userId": "u1",
            "timestamp": NOW.isoformat(),
            **body,
        }
        for kind, body in [
            ("identify", {"traits": {"email": "jo@acme.com"}}),
            ("track", {"event": "Demo", "properties": {}}),
            ("page", {"properties": {}, "context": {"page": {"url": "/x"}}}),
            ("screen", {"properties": {}}),
            ("group", {"traits": {"domain": "acme.com"}}),
            ("alias", {"previousId": "a1"}),
        ]
    },
    "tracking_batch": {
        "batch": [
            {
                "type": "track",
                "messageId": "m1",
                "anonymousId": "a1",
                "event": "Demo",
                "timestamp": NOW.isoformat(),
                "properties": {},
            }
        ]
    },
}


def stored() -> dict[str, int]:
    """Rows of every table the service owns (API keys aside: using one stamps it)."""
    return {
        model._meta.label: model._default_manager.count()
        for label in ("accounts", "contacts", "mqa", "tracking")
        for model in apps.get_app_config(label).get_models()
        if model._meta.label != "mqa.ApiKey"
    }


def hostile_values(value: Any, kind: str) -> Iterator[Any]:
    if kind == "string":
        yield from (NUL, LONG)
    elif kind == "integer":
        yield from (BIG, -BIG - 1)
    elif kind == "date-time":
        yield TOO_FAR
    elif kind == "object":
        yield from (DEEP, {"k": NUL}, {NUL: 1})
    elif kind == "strings":
        yield from ([NUL], [LONG], [value[0], NUL])


def kind_of(value: Any, key: str) -> str:
    if key in ("occurred_at", "cutoff", "timestamp"):
        return "date-time"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "strings"
    return "other"


def variants(body: Any) -> Iterator[tuple[str, Any]]:
    """The body with one value made hostile at a time, and a hostile value in each JSON
    field it could carry but does not (`properties`, `custom`)."""
    for list_key in ("items", "batch"):
        if isinstance(body, dict) and isinstance(body.get(list_key), list):
            item = body[list_key][0]
            json_field = "properties" if "type" in item else "custom"
            for key, value in {**item, json_field: {}}.items():
                for bad in hostile_values(value, kind_of(value, key)):
                    yield f"{list_key}[0].{key}", {list_key: [{**item, key: bad}]}
            return
    for key, value in (body or {}).items():
        for bad in hostile_values(value, kind_of(value, key)):
            yield key, {**body, key: bad}
    yield "(document)", DEEP


def requests() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(id, method, url, client kwargs) of every hostile request."""
    for method, template, operation in OPERATIONS:
        params = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
        path_params = {p["name"] for p in params if p["in"] == "path"}
        url = template.format(**{name: PATH_VALUES[name] for name in path_params})
        name = operation["operationId"]
        for param in params:
            where, key = param["in"], param["name"]
            schema = param.get("schema", {})
            bad_values = [NUL] if schema.get("type") == "string" else []
            if schema.get("format") == "date-time":
                bad_values.append(TOO_FAR)
            if where == "path":  # (a huge `?limit=` is cut to the largest page, not an error)
                bad_values.append(str(BIG * 10))
            for bad in bad_values:
                if where == "path":
                    target = template.format(
                        **{n: (quote(bad) if n == key else PATH_VALUES[n]) for n in path_params}
                    )
                    yield f"{name} path {key}={bad[:8]!r}", method, target, {}
                else:
                    query = f"{url}?{urlencode({key: bad})}"
                    yield f"{name} ?{key}={bad[:8]!r}", method, query, {}
        if "requestBody" not in operation:
            continue
        body = BODIES[name]
        for field, variant in variants(body):
            yield f"{name} body {field}", method, url, {"json": variant}
        yield f"{name} invalid UTF-8", method, url, {"raw": b'{"items": ["\xff\xfe"]}'}
        yield f"{name} 600 deep", method, url, {"raw": b"[" * 600 + b"]" * 600}
        yield (
            f"{name} text/plain",
            method,
            url,
            {"raw": json.dumps(body).encode(), "as": "text/plain"},
        )
        yield f"{name} form", method, url, {"form": {"items": "x"}}


REQUESTS = list(requests())


def test_the_walk_covers_every_operation():
    walked = {name.split(" ")[0] for name, *_ in REQUESTS}
    takes_input = {
        operation["operationId"]
        for _, _, operation in OPERATIONS
        if operation.get("parameters") or "requestBody" in operation
    }
    assert walked == takes_input
    assert len(REQUESTS) > 100


@pytest.mark.parametrize(("name", "method", "url", "how"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_hostile_input_is_a_4xx_problem_and_stores_nothing(api, name, method, url, how):
    before = stored()
    if "json" in how:
        response = api.generic(
            method, url, json.dumps(how["json"]), content_type="application/json"
        )
    elif "raw" in how:
        response = api.generic(
            method, url, how["raw"], content_type=how.get("as", "application/json")
        )
    elif "form" in how:
        response = api.generic(
            method, url, "items=x", content_type="application/x-www-form-urlencoded"
        )
    else:
        response = api.generic(method, url)

    assert 400 <= response.status_code < 500, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == response.status_code
    if response.status_code == 400:
        assert response.json()["errors"], response.json()
    assert stored() == before
