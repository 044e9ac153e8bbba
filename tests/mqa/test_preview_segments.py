"""A preview splits the status changes by the segment each record would be in."""

from __future__ import annotations

import copy

import pytest

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import AccountScore, ContactScore
from mqa.services.model_versions import scoring_model_import
from mqa.services.pipeline import pipeline_process
from mqa.services.preview import scoring_model_preview
from tests.factories import TEST_MODEL, mql_events

pytestmark = pytest.mark.django_db

NOTHING = {"total": 0, "changed": 0, "changes": []}


def test_the_preview_counts_changes_per_segment_of_the_previewed_model(active_model):
    accounts_upsert(
        items=[
            {"domain": "big.com", "name": "Big", "employee_count": 5000},
            {"domain": "small.com", "name": "Small", "employee_count": 300},
        ]
    )
    contacts_upsert(
        items=[
            {"email": "jo@big.com", "seniority": "vp"},
            {"email": "al@small.com", "seniority": "vp"},
            {"email": "kim@gmail.com", "seniority": "vp"},
        ]
    )
    events_ingest(
        items=mql_events("jo@big.com") + mql_events("al@small.com") + mql_events("kim@gmail.com")
    )
    pipeline_process()
    segmented = copy.deepcopy(TEST_MODEL)
    segmented["segments"] = [
        {
            "name": "Enterprise",
            "when": [{"attribute": "employee_count", "op": "gte", "value": 1000}],
            "contact": {"thresholds": {"total": 200}},
        },
        {
            "name": "Mid-market",
            "when": [{"attribute": "employee_count", "op": "lt", "value": 1000}],
        },
        {"name": "Unused", "when": [{"attribute": "custom.tier", "op": "eq", "value": "gold"}]},
    ]
    draft = scoring_model_import(document=segmented)

    preview = scoring_model_preview(version_id=draft.pk)

    assert preview["contacts"] == {
        "total": 3,
        "changed": 1,
        "changes": [{"from": "mql", "to": "engaged", "count": 1, "samples": ["jo@big.com"]}],
    }
    assert preview["segments"] == [
        {
            "segment": "Enterprise",
            "contacts": {
                "total": 1,
                "changed": 1,
                "changes": [
                    {"from": "mql", "to": "engaged", "count": 1, "samples": ["jo@big.com"]}
                ],
            },
            "accounts": {"total": 1, "changed": 0, "changes": []},
        },
        {
            "segment": "Mid-market",
            "contacts": {"total": 1, "changed": 0, "changes": []},
            "accounts": {"total": 1, "changed": 0, "changes": []},
        },
        {"segment": "Unused", "contacts": NOTHING, "accounts": NOTHING},
        {
            "segment": None,
            "contacts": {"total": 1, "changed": 0, "changes": []},
            "accounts": NOTHING,
        },
    ]
    assert sorted(ContactScore.objects.values_list("status", flat=True)) == ["mql"] * 3
    assert list(AccountScore.objects.values_list("segment", flat=True)) == [None, None]


def test_the_api_preview_keeps_its_keys_and_adds_the_segments(api, active_model):
    draft = api.post("/api/v1/scoring-models", TEST_MODEL, format="json").json()

    body = api.post(f"/api/v1/scoring-models/{draft['id']}/preview").json()

    assert sorted(body) == ["accounts", "computed_at", "contacts", "model_version", "segments"]
    assert body["segments"] == [{"segment": None, "contacts": NOTHING, "accounts": NOTHING}]
