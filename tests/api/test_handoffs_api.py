"""`/api/v1/handoffs`: what a handoff says (SPEC §6–§7), its filters, and assigning it by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff, WebhookDelivery
from mqa.services.pipeline import pipeline_process
from mqa.services.routing import routing_document_put
from tests.factories import mql_events, webhook_subscription
from tests.problems import problem

pytestmark = pytest.mark.django_db

ROUTING = {
    "format": "mqa.routing/v1",
    "queues": [
        {"name": "inbound", "members": [{"assignee": "a@v.io"}]},
        {"name": "emea", "members": [{"assignee": "e@v.io"}]},
    ],
    "rules": [
        {"when": [{"attribute": "country", "op": "eq", "value": "US"}], "queue": "inbound"},
        {
            "label": "EMEA",
            "when": [{"attribute": "country", "op": "in", "value": ["DE", "FR"]}],
            "queue": "emea",
        },
    ],
    "default_queue": "inbound",
}


@pytest.fixture
def routed(active_model):
    """A lead at a non-target account, routed by the labelled second rule."""
    routing_document_put(document=ROUTING)
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 500}])
    contacts_upsert(items=[{"email": "vp@acme.com", "seniority": "vp", "country": "DE"}])
    events_ingest(items=mql_events("vp@acme.com"))
    pipeline_process()
    return Handoff.objects.get()


def test_a_lead_handoff_carries_the_domain_of_its_contacts_linked_account(api, routed):
    rows = api.get("/api/v1/handoffs").json()["results"]

    assert [(h["kind"], h["contact_email"], h["account_domain"]) for h in rows] == [
        ("lead", "vp@acme.com", "acme.com")
    ]


def test_a_lead_handoff_of_an_unlinked_contact_has_a_null_account_domain(api, active_model):
    routing_document_put(document=ROUTING)
    contacts_upsert(items=[{"email": "jo@gmail.com", "seniority": "vp"}])
    events_ingest(items=mql_events("jo@gmail.com"))
    pipeline_process()

    rows = api.get("/api/v1/handoffs").json()["results"]

    assert [(h["contact_email"], h["account_domain"]) for h in rows] == [("jo@gmail.com", None)]


def test_a_handoffs_decision_names_the_rule_by_label_and_position(api, routed):
    decision = api.get("/api/v1/handoffs").json()["results"][0]["decision"]

    assert (decision["rule"], decision["rule_label"], decision["queue"]) == (1, "EMEA", "emea")
    assert routed.decision == decision


def handoffs(*specs: tuple[str | None, bool]) -> list[int]:
    """Open lead handoffs of fresh contacts, each (assignee, SLA breached); their ids."""
    now = timezone.now()
    ids = []
    for index, (assignee, breached) in enumerate(specs):
        contact = Contact.objects.create(email=f"p{index}@gmail.com")
        handoff = Handoff.objects.create(
            kind="lead",
            contact=contact,
            assignee=assignee,
            unassigned=assignee is None,
            created_at=now,
            due_at=now - timedelta(hours=1),
            sla_breached_at=now if breached else None,
        )
        ids.append(handoff.id)
    return ids


def listed(api, query: str) -> list[int]:
    response = api.get(f"/api/v1/handoffs?{query}")
    assert response.status_code == 200, response.json()
    return [h["id"] for h in response.json()["results"]]


def test_handoffs_filter_by_sla_breached(api, db):
    late, on_time, late_unassigned = handoffs(("a@v.io", True), ("a@v.io", False), (None, True))

    assert listed(api, "breached=true") == [late_unassigned, late]
    assert listed(api, "breached=false") == [on_time]


def test_handoffs_filter_by_unassigned(api, db):
    mine, nobodys, also_nobodys = handoffs(("a@v.io", False), (None, False), (None, True))

    assert listed(api, "unassigned=true") == [also_nobodys, nobodys]
    assert listed(api, "unassigned=false") == [mine]
    assert listed(api, "unassigned=true&breached=false") == [nobodys]


@pytest.mark.parametrize("field", ["breached", "unassigned"])
def test_a_filter_that_is_not_a_boolean_is_a_400_naming_it(api, db, field):
    handoffs(("a@v.io", True))

    response = api.get(f"/api/v1/handoffs?{field}=maybe")

    assert (response.status_code, response["Content-Type"]) == (400, "application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.fixture
def subscriber(db):
    return webhook_subscription(url="https://hooks.example.test/h", event_types=["handoff.updated"])


def test_assigning_an_unassigned_open_handoff_gives_it_and_announces_it(api, subscriber):
    (handoff_id,) = handoffs((None, False))

    response = api.post(
        f"/api/v1/handoffs/{handoff_id}/assign", {"assignee": " sdr@v.io "}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["assignee"], body["unassigned"]) == (
        handoff_id,
        "open",
        "sdr@v.io",
        False,
    )
    stored = Handoff.objects.get(pk=handoff_id)
    assert (stored.status, stored.assignee, stored.unassigned) == ("open", "sdr@v.io", False)
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.event_type == "handoff.updated"
    assert delivery.payload["data"] == {
        "handoff_id": handoff_id,
        "kind": "lead",
        "status": "open",
        "outcome": None,
        "contact_email": "p0@gmail.com",
        "account_domain": None,
        "assignee": "sdr@v.io",
        "queue": None,
        "unassigned": False,
        "reason": None,
        "decision": {},
        "context": {},
        "due_at": stored.due_at.isoformat(),
    }


def test_an_assigned_open_handoff_can_be_reassigned(api, routed):
    response = api.post(
        f"/api/v1/handoffs/{routed.id}/assign", {"assignee": "ae@v.io"}, format="json"
    )

    assert (response.status_code, response.json()["assignee"]) == (200, "ae@v.io")
    assert Handoff.objects.get().assignee == "ae@v.io"
    assert listed(api, "assignee=ae%40v.io") == [routed.id]


@pytest.mark.parametrize("status", ["accepted", "rejected"])
def test_assigning_a_handoff_that_is_not_open_is_a_409_and_changes_nothing(api, subscriber, status):
    (handoff_id,) = handoffs(("a@v.io", False))
    Handoff.objects.filter(pk=handoff_id).update(status=status)

    response = api.post(
        f"/api/v1/handoffs/{handoff_id}/assign", {"assignee": "b@v.io"}, format="json"
    )

    assert (response.status_code, response.json()) == (
        409,
        problem(409, f"handoff {handoff_id} is {status}"),
    )
    assert Handoff.objects.get(pk=handoff_id).assignee == "a@v.io"
    assert WebhookDelivery.objects.count() == 0


def test_assigning_an_unknown_handoff_is_a_404(api, subscriber):
    response = api.post("/api/v1/handoffs/999999/assign", {"assignee": "b@v.io"}, format="json")

    assert (response.status_code, response.json()) == (404, problem(404, "no such handoff"))
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"assignee": ""}, {"assignee": "   "}, {"assignee": None}, {"assignee": "x" * 256}],
    ids=["absent", "empty", "blank", "null", "too-long"],
)
def test_a_bad_assignee_is_a_400_naming_it_and_changes_nothing(api, subscriber, body):
    (handoff_id,) = handoffs((None, False))

    response = api.post(f"/api/v1/handoffs/{handoff_id}/assign", body, format="json")

    assert (response.status_code, response["Content-Type"]) == (400, "application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["assignee"]
    stored = Handoff.objects.get(pk=handoff_id)
    assert (stored.assignee, stored.unassigned) == (None, True)
    assert WebhookDelivery.objects.count() == 0


def test_an_assignee_of_the_columns_full_length_is_stored(api, db):
    (handoff_id,) = handoffs((None, False))

    response = api.post(
        f"/api/v1/handoffs/{handoff_id}/assign", {"assignee": "x" * 255}, format="json"
    )

    assert response.status_code == 200
    assert Handoff.objects.get(pk=handoff_id).assignee == "x" * 255


def test_assigning_needs_the_feedback_scope(client_for, db):
    (handoff_id,) = handoffs((None, False))

    response = client_for("read", "ingest", "admin").post(
        f"/api/v1/handoffs/{handoff_id}/assign", {"assignee": "b@v.io"}, format="json"
    )

    assert response.status_code == 403
    assert Handoff.objects.get(pk=handoff_id).assignee is None
