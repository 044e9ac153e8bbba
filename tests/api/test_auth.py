"""Every endpoint × scope: 401 without a valid key, 403 without the scope, through with it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from mqa.models import ApiKey
from mqa.services.api_keys import SCOPES, api_key_revoke
from tests.factories import TEST_MODEL
from tests.problems import problem

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("post", "/api/v1/accounts/bulk", {"items": []}, "ingest", 200),
    ("post", "/api/v1/contacts/bulk", {"items": []}, "ingest", 200),
    ("post", "/api/v1/events/bulk", {"items": []}, "ingest", 202),
    ("post", "/api/v1/signals/bulk", {"items": []}, "ingest", 202),
    ("get", "/api/v1/accounts", None, "read", 200),
    ("get", "/api/v1/accounts/acme.com/readiness", None, "read", 404),
    ("get", "/api/v1/accounts/acme.com/history", None, "read", 404),
    ("get", "/api/v1/accounts/acme.com/series", None, "read", 404),
    ("get", "/api/v1/contacts?email=jo@acme.com", None, "read", 200),
    ("get", "/api/v1/contacts/1", None, "read", 404),
    ("get", "/api/v1/contacts/1/history", None, "read", 404),
    ("get", "/api/v1/handoffs", None, "read", 200),
    ("post", "/api/v1/scoring-models", TEST_MODEL, "admin", 201),
    ("post", "/api/v1/scoring-models/999/preview", None, "admin", 404),
    ("post", "/api/v1/scoring-models/999/publish", {"route": True}, "admin", 404),
    ("get", "/api/v1/scoring-models/active", None, "read", 404),
    ("get", "/api/v1/pipeline", None, "read", 200),
    ("get", "/api/v1/routing", None, "read", 200),
    ("put", "/api/v1/routing", {"format": "mqa.routing/v1"}, "admin", 200),
    ("post", "/api/v1/handoffs/999/accept", None, "feedback", 404),
    ("post", "/api/v1/handoffs/999/reject", {"reason": "timing"}, "feedback", 404),
    ("post", "/api/v1/handoffs/999/outcome", {"outcome": "won"}, "feedback", 404),
    ("post", "/api/v1/handoffs/999/assign", {"assignee": "ann"}, "feedback", 404),
]
IDS = [f"{method} {path}" for method, path, *_ in ENDPOINTS]


def call(client: APIClient, method: str, path: str, body: object):  # type: ignore[no-untyped-def]
    return (
        getattr(client, method)(path, body, format="json")
        if body is not None
        else getattr(client, method)(path)
    )


@pytest.mark.parametrize(("method", "path", "body", "needed", "ok"), ENDPOINTS, ids=IDS)
def test_no_key_or_a_bad_key_is_401(method, path, body, needed, ok):
    anonymous = APIClient()
    assert call(anonymous, method, path, body).status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Api-Key mqa_000000000000_not-a-key")
    response = call(wrong, method, path, body)
    assert (response.status_code, response.json()) == (
        401,
        problem(401, "invalid or revoked API key"),
    )
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(("method", "path", "body", "needed", "ok"), ENDPOINTS, ids=IDS)
def test_a_key_without_the_scope_is_403_and_with_it_gets_through(
    client_for, method, path, body, needed, ok
):
    others = [scope for scope in SCOPES if scope != needed]
    response = call(client_for(*others), method, path, body)
    assert response.status_code == 403
    assert response.json() == problem(403, f"this API key lacks the {needed!r} scope")

    assert call(client_for(needed), method, path, body).status_code == ok


def test_a_key_records_when_it_was_last_used(client_for):
    client = client_for("read")
    assert ApiKey.objects.get().last_used_at is None

    client.get("/api/v1/pipeline")

    assert ApiKey.objects.get().last_used_at is not None


def test_a_revoked_key_is_401(client_for):
    client = client_for("read")
    api_key_revoke(key_ids=ApiKey.objects.values_list("id", flat=True))

    assert client.get("/api/v1/pipeline").status_code == 401


def test_create_api_key_prints_the_key_last_and_stores_only_its_hash():
    out = StringIO()
    call_command("create_api_key", "crm sync", "--scopes", "read,ingest", stdout=out)

    secret = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get()
    assert (key.name, key.scopes) == ("crm sync", ["ingest", "read"])
    assert secret not in (key.hashed_key, key.prefix) and len(key.hashed_key) == 64
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert client.get("/api/v1/pipeline").status_code == 200
    assert client.post("/api/v1/scoring-models", TEST_MODEL, format="json").status_code == 403


def test_create_api_key_refuses_unknown_scopes():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="unknown scope write"):
        call_command("create_api_key", "x", "--scopes", "read,write", stdout=StringIO())
    assert ApiKey.objects.count() == 0


def test_an_admin_revokes_keys_and_they_stop_working(admin_client, client_for):
    client = client_for("read")
    key = ApiKey.objects.get()

    response = admin_client.post(
        "/admin/mqa/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )

    assert response.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert client.get("/api/v1/pipeline").status_code == 401
