"""`missing` on contacts (`GET /api/v1/contacts/{id}`, `?email=`): what each still lacks to be
an MQL under the thresholds of the model (and segment) that scored it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.selectors import contact_get
from contacts.services import contacts_upsert, events_ingest
from mqa.services.pipeline import pipeline_process
from tests.api import test_reads
from tests.factories import TEST_MODEL, mql_events, pricing_view

pytestmark = pytest.mark.django_db

# test_reads' Acme: the VP an MQL (fit 50, engagement 70), the CEO engaged (fit 50, 10).
acme = test_reads.acme


def by_email(api, email: str) -> dict[str, Any]:
    (contact,) = api.get("/api/v1/contacts", {"email": email}).json()["results"]
    return contact


def test_an_mql_lacks_nothing(api, acme):
    contact = by_email(api, "vp@acme.com")

    assert (contact["status"], contact["missing"]) == ("mql", [])
    assert api.get(f"/api/v1/contacts/{contact['id']}").json()["missing"] == []


def test_a_contact_short_of_mql_names_each_threshold_it_misses(api, acme):
    contact = by_email(api, "ceo@acme.com")
    one = api.get(f"/api/v1/contacts/{contact['id']}").json()

    expected = [
        {"criterion": "engagement_floor", "actual": 10.0, "required": 20},
        {"criterion": "total", "actual": 60.0, "required": 70},
    ]
    assert (contact["status"], contact["missing"]) == ("engaged", expected)
    assert one["missing"] == expected
    assert contact_get(contact_id=contact["id"])["missing"] == expected


def test_a_disqualified_contact_lists_the_thresholds_it_misses_beside_its_reasons(
    api, active_model
):
    contacts_upsert(items=[{"email": "kid@gmail.com", "seniority": "student"}])
    events_ingest(items=mql_events("kid@gmail.com"))
    pipeline_process()

    contact = by_email(api, "kid@gmail.com")

    # Disqualification is told by its reasons; `missing` still names the thresholds not met
    # (as an account's does, SPEC §4): fit 0 < 30, while engagement 70 and the total are met.
    assert (contact["status"], contact["disqualified_reasons"], contact["missing"]) == (
        "disqualified",
        ["student"],
        [{"criterion": "fit_floor", "actual": 0, "required": 30}],
    )


# A segment no account is in until it is given the tier: the other tests use the top level.
SEGMENTED = copy.deepcopy(TEST_MODEL) | {
    "segments": [
        {
            "name": "Enterprise",
            "when": [{"attribute": "tier", "op": "eq", "value": "enterprise"}],
            "contact": {"thresholds": {"total": 130}},
        }
    ]
}


@pytest.fixture
def test_document() -> dict[str, Any]:
    return copy.deepcopy(SEGMENTED)


def test_a_contact_in_a_segment_is_measured_by_its_segments_thresholds(api, acme):
    accounts_upsert(items=[{"domain": "acme.com", "tier": "enterprise"}])
    pipeline_process()

    contact = by_email(api, "vp@acme.com")

    # Enterprise asks a total of 130 (the top level 70) and inherits the floors.
    assert (contact["segment"], contact["status"], contact["missing"]) == (
        "Enterprise",
        "engaged",
        [{"criterion": "total", "actual": 120.0, "required": 130}],
    )


def test_a_contact_not_yet_scored_is_measured_by_the_active_model(api, active_model):
    contacts_upsert(items=[{"email": "new@gmail.com"}])
    contact = Contact.objects.get(email="new@gmail.com")

    assert contact_get(contact_id=contact.id)["missing"] == [
        {"criterion": "fit_floor", "actual": 0, "required": 30},
        {"criterion": "engagement_floor", "actual": 0.0, "required": 20},
        {"criterion": "total", "actual": 0.0, "required": 70},
    ]


def test_missing_of_an_unknown_contact_is_none(db):
    assert contact_get(contact_id=999_999) is None


def test_missing_follows_new_activity(api, acme):
    events_ingest(items=[pricing_view("ceo@acme.com") for _ in range(2)])
    pipeline_process()

    contact = by_email(api, "ceo@acme.com")

    # Three pricing views: engagement 30, total 80: an MQL now.
    assert (contact["status"], contact["missing"]) == ("mql", [])
