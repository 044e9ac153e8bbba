from __future__ import annotations

import copy

import pytest

from contacts.services import contacts_upsert, events_ingest
from mqa.models import ContactScore, ContactStatusChange, ScoringModelVersion
from mqa.scoring.operators import OPERATORS
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
