from __future__ import annotations

import pytest

from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff
from mqa.services.pipeline import pipeline_process
from mqa.services.routing import routing_document_put
from tests.factories import mql_events
from tests.problems import problem

pytestmark = pytest.mark.django_db

DOCUMENT = {
    "format": "mqa.routing/v1",
    "queues": [{"name": "inbound", "members": [{"assignee": "a@v.io", "capacity": 3}]}],
    "default_queue": "inbound",
}


def test_routing_document_get_and_put(api):
    assert api.get("/api/v1/routing").json()["queues"] == []

    response = api.put("/api/v1/routing", DOCUMENT, format="json")

    assert response.status_code == 200
    stored = api.get("/api/v1/routing").json()
    assert stored == response.json()
    assert stored["queues"] == [
        {"name": "inbound", "members": [{"assignee": "a@v.io", "active": True, "capacity": 3}]}
    ]
    assert (
        stored["lead_sla_hours"],
        stored["account_sla_hours"],
        stored["recycle_cooldown_days"],
    ) == (24, 48, 30)


def test_an_invalid_routing_document_is_a_400_and_keeps_the_old_one(api):
    api.put("/api/v1/routing", DOCUMENT, format="json")

    response = api.put("/api/v1/routing", DOCUMENT | {"abm_queue": "abm"}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        problem(
            400,
            "the document has 1 error(s)",
            [{"path": "abm_queue", "message": "no queue named 'abm'"}],
        ),
    )
    assert api.get("/api/v1/routing").json()["abm_queue"] is None


@pytest.fixture
def handoff(active_model) -> Handoff:
    routing_document_put(document=DOCUMENT)
    contacts_upsert(items=[{"email": "jo@gmail.com", "seniority": "vp"}])
    events_ingest(items=mql_events("jo@gmail.com"))
    pipeline_process()
    return Handoff.objects.get()


def test_accept_then_outcomes_over_the_api(api, handoff):
    accepted = api.post(f"/api/v1/handoffs/{handoff.id}/accept")
    sql = api.post(f"/api/v1/handoffs/{handoff.id}/outcome", {"outcome": "sql"}, format="json")

    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted")
    assert (sql.status_code, sql.json()["outcome"]) == (200, "sql")
    assert api.get("/api/v1/handoffs?status=accepted").json()["results"][0]["outcome"] == "sql"


def test_reject_needs_a_known_reason_and_records_it(api, handoff):
    unknown = api.post(f"/api/v1/handoffs/{handoff.id}/reject", {"reason": "meh"}, format="json")
    message = '"meh" is not a valid choice.'
    assert (unknown.status_code, unknown.json()) == (
        400,
        problem(400, f"reason: {message}", [{"field": "reason", "message": message}]),
    )
    handoff.refresh_from_db()
    assert handoff.status == "open"

    rejected = api.post(
        f"/api/v1/handoffs/{handoff.id}/reject",
        {"reason": "no_need", "note": "already has a tool"},
        format="json",
    )

    assert rejected.status_code == 200
    assert {k: rejected.json()[k] for k in ("status", "reason", "note")} == {
        "status": "rejected",
        "reason": "no_need",
        "note": "already has a tool",
    }


def test_invalid_transitions_are_409(api, handoff):
    assert (
        api.post(
            f"/api/v1/handoffs/{handoff.id}/outcome", {"outcome": "won"}, format="json"
        ).status_code
        == 409
    )
    api.post(f"/api/v1/handoffs/{handoff.id}/reject", {"reason": "timing"}, format="json")

    response = api.post(f"/api/v1/handoffs/{handoff.id}/accept")

    assert (response.status_code, response.json()) == (
        409,
        problem(409, f"handoff {handoff.id} is rejected"),
    )
    handoff.refresh_from_db()
    assert (handoff.status, handoff.accepted_at) == ("rejected", None)


def test_feedback_needs_the_feedback_scope(client_for, handoff):
    assert (
        client_for("read", "ingest", "admin")
        .post(f"/api/v1/handoffs/{handoff.id}/accept")
        .status_code
        == 403
    )
    handoff.refresh_from_db()
    assert handoff.status == "open"


def test_admin_actions_accept_and_reject_with_a_reason(admin_client, handoff):
    response = admin_client.post(
        "/admin/mqa/handoff/",
        {"action": "reject_wrong_fit", "_selected_action": [handoff.id]},
        follow=True,
    )

    assert response.status_code == 200
    handoff.refresh_from_db()
    assert (handoff.status, handoff.reason) == ("rejected", "wrong_fit")


def test_admin_actions_record_outcomes_and_refuse_invalid_ones(admin_client, handoff):
    admin_client.post(
        "/admin/mqa/handoff/",
        {"action": "outcome_won", "_selected_action": [handoff.id]},
        follow=True,
    )
    handoff.refresh_from_db()
    assert (handoff.status, handoff.outcome) == ("open", None)  # not accepted yet: refused

    admin_client.post(
        "/admin/mqa/handoff/", {"action": "accept", "_selected_action": [handoff.id]}, follow=True
    )
    admin_client.post(
        "/admin/mqa/handoff/",
        {"action": "outcome_won", "_selected_action": [handoff.id]},
        follow=True,
    )

    handoff.refresh_from_db()
    assert (handoff.status, handoff.outcome) == ("accepted", "won")


def test_review_actions_never_redirect_off_site(admin_client, handoff):
    response = admin_client.post(
        f"/review/handoffs/{handoff.id}/accept", {"next": "https://evil.example/steal"}
    )

    assert (response.status_code, response["Location"]) == (302, "/review/")
    handoff.refresh_from_db()
    assert handoff.status == "accepted"


def test_ingested_data_is_view_only_in_the_admin(admin_client):
    assert admin_client.get("/admin/accounts/account/add/").status_code == 403
    assert admin_client.get("/admin/contacts/contact/").status_code == 200


def test_a_webhook_secret_must_be_whsec_base64(admin_client, settings):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = True
    from mqa.models import WebhookSubscription

    response = admin_client.post(
        "/admin/mqa/webhooksubscription/add/",
        {
            "url": "https://127.0.0.1/hook",
            "secret": "not base64!",
            "event_types": ["handoff.created"],
            "active": "on",
        },
    )

    assert response.status_code == 200
    assert "Use whsec_ followed by base64" in response.content.decode()
    assert WebhookSubscription.objects.count() == 0
