"""`/v1/*` over HTTP (SPEC §9): write-key auth, the answer, gzip bodies, limits and errors."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from rest_framework.test import APIClient

from contacts.models import Contact, EngagementEvent
from mqa.services.api_keys import api_key_create
from tests.problems import is_problem
from tracking.models import TrackedMessage

pytestmark = pytest.mark.django_db

AT = "2026-12-01T10:00:00Z"


def write_key_client(*scopes: str) -> APIClient:
    _, secret = api_key_create(name="source", scopes=scopes or ("ingest",))
    client = APIClient()
    credentials = base64.b64encode(f"{secret}:".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
    return client


def track(message_id: str, **fields) -> dict:
    return {
        "messageId": message_id,
        "userId": "u1",
        "event": "Demo Requested",
        "timestamp": AT,
        "context": {"traits": {"email": "ada@acme.com"}},
        **fields,
    }


def test_a_write_key_sends_a_track_and_is_told_what_was_stored():
    client = write_key_client()

    first = client.post("/v1/track", track("m1"), format="json")
    again = client.post("/v1/track", track("m1"), format="json")

    assert (first.status_code, first.json()) == (
        200,
        {"success": True, "accepted": 1, "duplicates": 0, "conflicts": [], "suppressed": 0},
    )
    assert again.json() == {
        "success": True,
        "accepted": 0,
        "duplicates": 1,
        "conflicts": [],
        "suppressed": 0,
    }
    assert list(EngagementEvent.objects.values_list("type", "source", "external_id")) == [
        ("demo_requested", "segment", "m1")
    ]


def test_each_single_message_path_sets_the_type(api):
    assert (
        api.post(
            "/v1/identify",
            {"messageId": "m1", "userId": "u1", "traits": {"email": "ada@acme.com"}},
            format="json",
        ).json()["accepted"]
        == 1
    )
    for path, body in [
        ("/v1/page", {"messageId": "m2", "userId": "u1", "properties": {"path": "/x"}}),
        ("/v1/screen", {"messageId": "m3", "userId": "u1"}),
        ("/v1/group", {"messageId": "m4", "userId": "u1", "traits": {"domain": "acme.com"}}),
        ("/v1/alias", {"messageId": "m5", "userId": "u1", "previousId": "a1"}),
        ("/v1/track", {"messageId": "m6", "anonymousId": "a1", "event": "Back"}),
    ]:
        response = api.post(path, {**body, "type": "identify"}, format="json")
        assert (path, response.status_code, response.json()["accepted"]) == (path, 200, 1)

    assert list(EngagementEvent.objects.order_by("pk").values_list("type", flat=True)) == [
        "page_view",
        "screen_view",
        "back",
    ]
    assert Contact.objects.get().account_domain == "acme.com"


def test_a_gzip_batch_is_read():
    client = write_key_client()
    body = gzip.compress(json.dumps({"batch": [{**track("m1"), "type": "track"}]}).encode())

    response = client.generic(
        "POST", "/v1/batch", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert (response.status_code, response.json()["accepted"]) == (200, 1)


def test_an_invalid_message_in_a_batch_is_a_400_naming_it_and_stores_nothing(api):
    batch = [{**track("m1"), "type": "track"}, {**track("m2", event="!!"), "type": "track"}]

    response = api.post("/v1/batch", {"batch": batch}, format="json")

    assert is_problem(response, 400)
    assert response.json()["errors"] == [
        {"index": 1, "field": "event", "message": "must contain a letter or digit"}
    ]
    assert (TrackedMessage.objects.count(), Contact.objects.count()) == (0, 0)


def test_a_nul_deep_in_a_batch_names_the_message(api):
    batch = [{**track("m1"), "type": "track", "properties": {"x": "a\x00b"}}]

    response = api.post("/v1/batch", {"batch": batch}, format="json")

    assert is_problem(response, 400)
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "properties.x")]


def test_a_body_that_is_not_a_batch_is_a_400(api):
    response = api.post("/v1/batch", {"items": []}, format="json")

    assert is_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "batch"


def test_more_than_500_kb_is_a_413_even_gzipped(api):
    batch = [
        {**track(f"m{i}"), "type": "track", "properties": {"x": "y" * 20_000}} for i in range(30)
    ]
    body = gzip.compress(json.dumps({"batch": batch}).encode())

    plain = api.post("/v1/batch", {"batch": batch}, format="json")
    zipped = api.generic(
        "POST", "/v1/batch", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert is_problem(plain, 413) and is_problem(zipped, 413)
    assert TrackedMessage.objects.count() == 0


def test_a_body_that_says_gzip_and_is_not_is_a_400(api):
    response = api.generic(
        "POST", "/v1/batch", b"{}", content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert is_problem(response, 400)
    assert response.json()["errors"][0]["field"] == "body"


def test_a_wrong_write_key_is_a_401_and_a_key_without_ingest_a_403():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"nope:").decode())

    wrong = client.post("/v1/track", track("m1"), format="json")
    no_scope = write_key_client("read").post("/v1/track", track("m1"), format="json")
    garbled = APIClient().post(
        "/v1/track", track("m1"), format="json", HTTP_AUTHORIZATION="Basic ***"
    )

    assert is_problem(wrong, 401) and is_problem(no_scope, 403) and is_problem(garbled, 401)
    assert wrong["WWW-Authenticate"] == 'Basic realm="mqa"'
    assert TrackedMessage.objects.count() == 0


def test_the_tracking_api_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    paths = [p for p in schema["paths"] if p.startswith("/v1/")]
    assert sorted(paths) == [
        "/v1/alias",
        "/v1/batch",
        "/v1/group",
        "/v1/identify",
        "/v1/page",
        "/v1/screen",
        "/v1/track",
    ]
    batch = schema["paths"]["/v1/batch"]["post"]
    assert {"WriteKey": []} in batch["security"]
    assert set(batch["responses"]) >= {"200", "400", "401", "403", "413", "429", "503"}
