from __future__ import annotations

import copy

import pytest
from rest_framework.test import APIClient

from contacts.services import contacts_upsert, events_ingest
from mqa.models import (
    ContactScore,
    ContactStatusChange,
    RescoreRun,
    ScoringModelAudit,
    ScoringModelVersion,
)
from mqa.scoring.operators import OPERATORS
from mqa.services.api_keys import api_key_create
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from mqa.services.pipeline import pipeline_process
from tests.factories import TEST_MODEL, mql_events
from tests.problems import problem

pytestmark = pytest.mark.django_db


def test_import_makes_a_draft(api):
    response = api.post("/api/v1/scoring-models", TEST_MODEL, format="json")

    assert (response.status_code, response.json()) == (
        201,
        {"id": ScoringModelVersion.objects.get().id, "version": 1},
    )
    assert ScoringModelVersion.objects.get().state == "draft"


def test_an_invalid_document_is_a_400_naming_paths(api):
    document = copy.deepcopy(TEST_MODEL)
    document["contact"]["engagement"]["rules"][1]["where"][0]["op"] = "like"
    document["contact"]["thresholds"]["total"] = 0

    response = api.post("/api/v1/scoring-models", document, format="json")

    assert response.status_code == 400
    assert response.json() == problem(
        400,
        "the document has 2 error(s)",
        [
            {"path": "contact.thresholds.total", "message": "must be greater than 0"},
            {
                "path": "contact.engagement.rules[1].where[0].op",
                "message": f"unknown operator; use one of {', '.join(OPERATORS)}",
            },
        ],
    )
    assert ScoringModelVersion.objects.count() == 0


def test_preview_counts_changes_without_storing_them(api, active_model):
    contacts_upsert(items=[{"email": "jo@acme.com", "seniority": "vp"}, {"email": "al@acme.com"}])
    events_ingest(items=mql_events("jo@acme.com") + mql_events("al@acme.com"))
    pipeline_process()
    stricter = copy.deepcopy(TEST_MODEL)
    stricter["contact"]["thresholds"]["total"] = 200
    stricter["contact"]["disqualifiers"].append(
        {"attribute": "email", "op": "eq", "value": "al@acme.com", "reason": "test"}
    )
    draft = api.post("/api/v1/scoring-models", stricter, format="json").json()

    response = api.post(f"/api/v1/scoring-models/{draft['id']}/preview")

    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == 2
    assert body["contacts"] == {
        "total": 2,
        "changed": 2,
        "changes": [
            {"from": "engaged", "to": "disqualified", "count": 1, "samples": ["al@acme.com"]},
            {"from": "mql", "to": "engaged", "count": 1, "samples": ["jo@acme.com"]},
        ],
    }
    assert body["accounts"] == {"total": 0, "changed": 0, "changes": []}
    assert sorted(ContactScore.objects.values_list("status", flat=True)) == ["engaged", "mql"]
    assert ScoringModelVersion.objects.get(pk=draft["id"]).state == "draft"


def test_publish_starts_the_rescore_and_the_active_document_is_served(
    api, django_capture_on_commit_callbacks
):
    contacts_upsert(items=[{"email": "jo@acme.com", "seniority": "vp"}])
    events_ingest(items=mql_events("jo@acme.com"))
    draft = api.post("/api/v1/scoring-models", TEST_MODEL, format="json").json()
    assert api.get("/api/v1/scoring-models/active").status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/scoring-models/{draft['id']}/publish", {"route": False}, format="json"
        )

    assert response.status_code == 202
    assert {k: response.json()[k] for k in ("version", "state", "done", "total")} == {
        "version": 1,
        "state": "running",
        "done": 0,
        "total": 1,
    }
    assert ContactStatusChange.objects.get().cause == "publish"
    active = api.get("/api/v1/scoring-models/active").json()
    assert (active["format"], active["name"], active["contact"]["thresholds"]["total"]) == (
        "mqa.scoring-model/v1",
        "Test model",
        70,
    )
    assert api.get("/api/v1/pipeline").json()["rescore"] == {"state": "done", "done": 1, "total": 1}


def test_publish_needs_a_route_flag_and_a_draft(api):
    draft = api.post("/api/v1/scoring-models", TEST_MODEL, format="json").json()

    missing = api.post(f"/api/v1/scoring-models/{draft['id']}/publish", {}, format="json")
    assert (missing.status_code, missing.json()) == (
        400,
        problem(
            400,
            "route: This field is required.",
            [{"field": "route", "message": "This field is required."}],
        ),
    )
    assert ScoringModelVersion.objects.get().state == "draft"

    assert (
        api.post(
            f"/api/v1/scoring-models/{draft['id']}/publish", {"route": True}, format="json"
        ).status_code
        == 202
    )
    again = api.post(
        f"/api/v1/scoring-models/{draft['id']}/publish", {"route": True}, format="json"
    )
    assert (again.status_code, again.json()) == (
        409,
        problem(409, "version 1 is active, not a draft"),
    )
    assert (
        api.post("/api/v1/scoring-models/999/publish", {"route": True}, format="json").status_code
        == 404
    )


def test_a_document_with_a_nul_character_is_a_400(api):
    document = copy.deepcopy(TEST_MODEL)
    document["name"] = "bad\x00name"

    response = api.post("/api/v1/scoring-models", document, format="json")

    assert (response.status_code, response.json()) == (
        400,
        problem(
            400,
            "name: must not contain NUL (\\u0000) characters",
            [{"field": "name", "message": "must not contain NUL (\\u0000) characters"}],
        ),
    )
    assert ScoringModelVersion.objects.count() == 0


def _two_published_versions() -> tuple[ScoringModelVersion, ScoringModelVersion]:
    """v1 published then retired by v2 (a stricter total)."""
    first = scoring_model_import(document=TEST_MODEL)
    scoring_model_publish(version_id=first.id, route=False)
    stricter = copy.deepcopy(TEST_MODEL)
    stricter["contact"]["thresholds"]["total"] = 90
    second = scoring_model_import(document=stricter)
    scoring_model_publish(version_id=second.id, route=False)
    first.refresh_from_db()
    second.refresh_from_db()
    return first, second


def test_any_version_is_served_with_its_document(api):
    first, _ = _two_published_versions()

    response = api.get(f"/api/v1/scoring-models/{first.id}")

    assert response.status_code == 200
    assert response.json() == {
        "id": first.id,
        "version": 1,
        "name": "Test model",
        "state": "retired",
        "created_at": first.created_at.isoformat().replace("+00:00", "Z"),
        "published_at": first.published_at.isoformat().replace("+00:00", "Z"),
        "document": first.document,
    }


def test_an_unknown_version_is_a_404_problem(client_for):
    response = client_for("read").get("/api/v1/scoring-models/999")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == problem(404, "no such scoring model version")


def test_versions_are_listed_newest_first_without_documents(client_for):
    first, second = _two_published_versions()
    draft = scoring_model_import(document=TEST_MODEL)

    response = client_for("read").get("/api/v1/scoring-models")

    assert response.status_code == 200
    assert [(v["id"], v["version"], v["state"]) for v in response.json()["results"]] == [
        (draft.id, 3, "draft"),
        (second.id, 2, "active"),
        (first.id, 1, "retired"),
    ]
    assert "document" not in response.json()["results"][0]


def test_reading_versions_needs_the_read_scope_and_importing_the_admin_scope(client_for):
    reader = client_for("read")

    assert reader.get("/api/v1/scoring-models").status_code == 200
    refused = reader.post("/api/v1/scoring-models", TEST_MODEL, format="json")
    assert refused.status_code == 403
    assert ScoringModelVersion.objects.count() == 0
    assert client_for("ingest").get("/api/v1/scoring-models").status_code == 403


def test_rollback_publishes_a_copy_of_a_retired_version(api, django_capture_on_commit_callbacks):
    first, _ = _two_published_versions()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/scoring-models/{first.id}/rollback", {"route": False}, format="json"
        )

    assert response.status_code == 202
    copy_of_first = ScoringModelVersion.objects.get(version=3)
    body = response.json()
    assert {k: body[k] for k in ("id", "version", "rolled_back_from", "state", "total")} == {
        "id": copy_of_first.id,
        "version": 3,
        "rolled_back_from": 1,
        "state": "running",
        "total": 0,
    }
    assert body["rescore_id"] == RescoreRun.objects.get(model_version=copy_of_first).id
    assert (copy_of_first.state, copy_of_first.document) == ("active", first.document)
    assert list(
        ScoringModelVersion.objects.order_by("version").values_list("version", "state")
    ) == [(1, "retired"), (2, "retired"), (3, "active")]
    assert api.get("/api/v1/scoring-models/active").json()["contact"]["thresholds"]["total"] == 70
    audit = ScoringModelAudit.objects.filter(version=copy_of_first)
    assert [(a.action, a.source_id) for a in audit] == [
        ("published", None),
        ("rolled_back", first.id),
    ]


def test_rollback_needs_a_route_flag_and_refuses_the_active_version(api):
    first, second = _two_published_versions()

    missing = api.post(f"/api/v1/scoring-models/{first.id}/rollback", {}, format="json")
    active = api.post(
        f"/api/v1/scoring-models/{second.id}/rollback", {"route": True}, format="json"
    )
    unknown = api.post("/api/v1/scoring-models/999/rollback", {"route": True}, format="json")

    assert missing.status_code == 400
    assert (active.status_code, active.json()) == (
        409,
        problem(409, "version 2 is already active: nothing to roll back to"),
    )
    assert (unknown.status_code, unknown.json()) == (
        404,
        problem(404, "no such scoring model version"),
    )
    assert ScoringModelVersion.objects.count() == 2
    assert ScoringModelVersion.objects.get(state="active") == second


def test_rollback_needs_the_admin_scope(client_for):
    first, _ = _two_published_versions()

    response = client_for("read").post(
        f"/api/v1/scoring-models/{first.id}/rollback", {"route": False}, format="json"
    )

    assert response.status_code == 403
    assert ScoringModelVersion.objects.count() == 2


def test_api_imports_publishes_and_rollbacks_are_audited_with_the_key(client_for):
    _, secret = api_key_create(name="ci-deploy", scopes=["admin"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    draft = client.post("/api/v1/scoring-models", TEST_MODEL, format="json").json()
    client.post(f"/api/v1/scoring-models/{draft['id']}/publish", {"route": False}, format="json")
    second = client.post("/api/v1/scoring-models", TEST_MODEL, format="json").json()
    client.post(f"/api/v1/scoring-models/{second['id']}/publish", {"route": False}, format="json")
    client.post(f"/api/v1/scoring-models/{draft['id']}/rollback", {"route": False}, format="json")

    audit = ScoringModelAudit.objects.order_by("id")
    assert [(a.action, a.username, a.api_key_name, a.actor) for a in audit] == [
        ("imported", "", "ci-deploy", "API key “ci-deploy”"),
        ("published", "", "ci-deploy", "API key “ci-deploy”"),
        ("imported", "", "ci-deploy", "API key “ci-deploy”"),
        ("published", "", "ci-deploy", "API key “ci-deploy”"),
        ("rolled_back", "", "ci-deploy", "API key “ci-deploy”"),
        ("published", "", "ci-deploy", "API key “ci-deploy”"),
    ]
