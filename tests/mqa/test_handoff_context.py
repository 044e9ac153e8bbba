"""Why now: the context every handoff carries (SPEC §6 handoffs, the CRM's "content that led
to MQL status, the campaign, recent engagement"), in the API and the webhook payloads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import accounts_upsert, signals_ingest
from contacts.erasure import contacts_erase
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff, WebhookDelivery
from mqa.services.pipeline import pipeline_process
from mqa.services.routing import routing_document_put
from tests.factories import event, signal, webhook_subscription
from tests.mqa.test_routing import ROUTING

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing(active_model):
    routing_document_put(document=ROUTING)


def at(hours: float) -> str:
    return (timezone.now() - timedelta(hours=hours)).isoformat()


def test_a_lead_handoff_says_what_qualified_it(routing):
    webhook_subscription(url="https://crm.example/hook", event_types=["handoff.created"])
    contacts_upsert(items=[{"email": "jo@gmail.com", "seniority": "vp", "lead_source": "webinar"}])
    now = timezone.now()
    events_ingest(
        items=[
            event("jo@gmail.com", at=now - timedelta(hours=5), properties={"utm_campaign": "q4"}),
            *[
                event(
                    "jo@gmail.com",
                    "page_view",
                    at=now - timedelta(hours=h),
                    properties={"url": "https://x.io/pricing", "path": "/pricing", "k": h},
                )
                for h in (4, 3, 2, 1)  # max_count 3: the oldest does not count
            ],
            event("jo@gmail.com", "newsletter_open", at=now - timedelta(minutes=5)),
        ]
    )

    pipeline_process()

    handoff = Handoff.objects.get()
    pricing = {"url": "https://x.io/pricing", "path": "/pricing"}
    iso = {h: (now - timedelta(hours=h)).isoformat() for h in (1, 2, 3, 5)}
    assert handoff.context == {
        "version": 1,
        "scores": {"fit": 30, "engagement": 70.0, "total": 100.0},
        "breakdown": {
            "segment": None,
            "fit": [{"label": "Senior", "attribute": "seniority", "points": 30}],
            "engagement": [
                {"label": "Demo", "type": "demo_request", "count": 1, "points": 40.0},
                {"label": "Pricing", "type": "page_view", "count": 3, "points": 30.0},
            ],
            "disqualifiers": [],
        },
        "contributing_events": [
            {"type": "page_view", "occurred_at": iso[1], "rule": "Pricing", "properties": pricing},
            {"type": "page_view", "occurred_at": iso[2], "rule": "Pricing", "properties": pricing},
            {"type": "page_view", "occurred_at": iso[3], "rule": "Pricing", "properties": pricing},
            {
                "type": "demo_request",
                "occurred_at": iso[5],
                "rule": "Demo",
                "properties": {"utm_campaign": "q4"},
            },
        ],
        "campaign": "q4",
        "last_activity": {
            "type": "newsletter_open",
            "occurred_at": (now - timedelta(minutes=5)).isoformat(),
            "properties": {},
        },
        "lead_source": "webinar",
    }
    [payload] = WebhookDelivery.objects.values_list("payload", flat=True)
    assert payload["data"]["context"] == handoff.context


def test_an_account_handoff_says_who_of_the_committee_is_in(routing, api):
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 500, "is_target": True}])
    contacts_upsert(
        items=[
            {"email": "ceo@acme.com", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": "vp@acme.com", "seniority": "vp", "buying_role": "champion"},
        ]
    )
    signals_ingest(items=[signal("acme.com", properties={"topic": "scoring"})])
    now = timezone.now()
    events_ingest(
        items=[
            event(email, kind, at=now - timedelta(hours=h), properties=p)
            for email in ("ceo@acme.com", "vp@acme.com")
            for kind, h, p in [
                ("demo_request", 3, {"campaign": "abm-q4"}),
                *[("page_view", h, {"url": "/pricing"}) for h in (2, 1.5, 1)],
            ]
        ]
    )

    pipeline_process()

    [handoff] = api.get("/api/v1/handoffs?kind=account").json()["results"]
    context = handoff["context"]
    # 70 × 2.0 (decision maker) + 70 × 1.5 (champion) + the 20-point intent signal
    assert context["scores"] == {"fit": 50, "engagement": 265.0, "signal_score": 20.0}
    assert context["committee"] == {
        "engaged_contacts": 2,
        "mql_contacts": 2,
        "roles_covered": ["champion", "decision_maker"],
        "missing": [],
        "top_contacts": [
            {
                "email": "ceo@acme.com",
                "buying_role": "decision_maker",
                "status": "mql",
                "engagement": 70.0,
            },
            {
                "email": "vp@acme.com",
                "buying_role": "champion",
                "status": "mql",
                "engagement": 70.0,
            },
        ],
    }
    assert sorted(
        (e["occurred_at"], e["email"], e["type"]) for e in context["contributing_events"]
    ) == sorted(
        ((now - timedelta(hours=h)).isoformat(), email, kind)
        for email in ("ceo@acme.com", "vp@acme.com")
        for kind, h in [("demo_request", 3), ("page_view", 2), ("page_view", 1.5), ("page_view", 1)]
    )
    times = [e["occurred_at"] for e in context["contributing_events"]]
    assert times == sorted(times, reverse=True)  # newest first
    assert [s["type"] for s in context["contributing_signals"]] == ["intent_surge"]
    assert context["campaign"] == "abm-q4"
    assert context["last_activity"]["type"] == "page_view"

    contacts_erase(emails=["vp@acme.com"], actor="test")

    scrubbed = Handoff.objects.get().context
    assert "vp@acme.com" not in str(scrubbed)
    assert [c["email"] for c in scrubbed["committee"]["top_contacts"]] == ["ceo@acme.com"]
