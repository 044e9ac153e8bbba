"""Segments over the API and the pipeline (SPEC §3, §4 "Time passing", §7): an account whose
attributes move it into a segment is rescored with its contacts under that segment's model,
a contact linked late takes its account's segment, and reads say which segment decided."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.services.pipeline import pipeline_process
from tests.api import test_reads
from tests.factories import TEST_MODEL, mql_events

pytestmark = pytest.mark.django_db

ENTERPRISE = {
    "name": "Enterprise",
    "when": [{"attribute": "employee_count", "op": "gte", "value": 1000}],
    "contact": {"thresholds": {"fit_floor": 0, "engagement_floor": 10, "total": 50}},
    "account": {"thresholds": {"engagement": 100}},
}


# test_reads' Acme (two contacts, the VP an MQL), published with this module's segmented model.
acme = test_reads.acme


@pytest.fixture
def test_document() -> dict[str, Any]:
    document = copy.deepcopy(TEST_MODEL)
    document["segments"] = [ENTERPRISE]
    return document


def _contact(api, email: str) -> dict[str, Any]:
    response = api.get("/api/v1/contacts", {"email": email})
    assert response.status_code == 200
    (contact,) = response.json()["results"]
    return contact


def test_an_account_that_grows_into_a_segment_is_rescored_with_its_contacts(api, acme):
    before = api.get("/api/v1/accounts/acme.com/readiness").json()
    assert (before["segment"], before["status"], before["engagement"]) == (None, "engaged", 125.0)
    assert before["missing"] == [{"criterion": "engagement", "actual": 125.0, "required": 150}]
    assert _contact(api, "ceo@acme.com")["segment"] is None

    response = api.post(
        "/api/v1/accounts/bulk",
        {"items": [{"domain": "acme.com", "employee_count": 1500}]},
        format="json",
    )
    assert response.status_code == 200
    pipeline_process()

    after = api.get("/api/v1/accounts/acme.com/readiness").json()
    # Enterprise merges engagement 100 into the account thresholds: 125 ≥ 100 → mqa.
    assert (after["segment"], after["status"], after["missing"]) == ("Enterprise", "mqa", [])
    ceo = _contact(api, "ceo@acme.com")
    # Contacts are rescored too: the ceo's engagement 10 now meets Enterprise's floor of 10
    # (the top level asks 20), and fit 50 + 10 = 60 ≥ its total 50.
    assert (ceo["segment"], ceo["status"], ceo["breakdown"]["segment"]) == (
        "Enterprise",
        "mql",
        "Enterprise",
    )
    history = api.get("/api/v1/accounts/acme.com/history").json()["results"]
    assert [(h["from_status"], h["to_status"], h["segment"]) for h in history] == [
        ("engaged", "mqa", "Enterprise"),
        ("none", "engaged", None),
    ]
    assert history[0]["explanation"]["segment"] == "Enterprise"


def test_an_account_that_leaves_its_segment_falls_back_to_the_top_level_model(api, acme):
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 1500}])
    pipeline_process()
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 900}])
    pipeline_process()

    readiness = api.get("/api/v1/accounts/acme.com/readiness").json()
    assert (readiness["segment"], readiness["status"]) == (None, "engaged")
    assert _contact(api, "ceo@acme.com")["status"] == "engaged"
    history = api.get("/api/v1/contacts/{}/history".format(_contact(api, "ceo@acme.com")["id"]))
    assert [(h["to_status"], h["segment"]) for h in history.json()["results"]] == [
        ("engaged", None),
        ("mql", "Enterprise"),
        ("engaged", None),
    ]


def test_accounts_and_contacts_filter_by_segment(api, acme):
    accounts_upsert(items=[{"domain": "globex.com", "employee_count": 5000}])
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 1500}])
    pipeline_process()

    def domains(**query: str) -> list[str]:
        response = api.get("/api/v1/accounts", query)
        assert response.status_code == 200
        return sorted(a["domain"] for a in response.json()["results"])

    assert domains(segment="enterprise") == ["acme.com", "globex.com"]
    assert domains(segment="Enterprise", status="mqa") == ["acme.com"]
    assert domains(segment="SMB") == []
    contacts = api.get("/api/v1/contacts", {"segment": "ENTERPRISE"}).json()["results"]
    assert sorted(c["email"] for c in contacts) == ["ceo@acme.com", "vp@acme.com"]


def test_a_contact_linked_late_takes_its_accounts_segment(api, active_model):
    contacts_upsert(items=[{"email": "cto@initech.com", "seniority": "manager"}])
    events_ingest(items=mql_events("cto@initech.com"))
    pipeline_process()
    alone = _contact(api, "cto@initech.com")
    assert (alone["account_domain"], alone["segment"], alone["status"]) == (None, None, "engaged")

    accounts_upsert(items=[{"domain": "initech.com", "employee_count": 2000}])
    pipeline_process()

    linked = _contact(api, "cto@initech.com")
    # Linked to an Enterprise account: fit 20 (big account) is below the top level's floor
    # of 30 but Enterprise has none, and 20 + 70 ≥ its total 50.
    assert (linked["account_domain"], linked["segment"], linked["status"]) == (
        "initech.com",
        "Enterprise",
        "mql",
    )
    readiness = api.get("/api/v1/accounts/initech.com/readiness").json()
    assert readiness["segment"] == "Enterprise"
