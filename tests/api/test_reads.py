from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff
from mqa.services.pipeline import pipeline_process
from tests.factories import mql_events, pricing_view

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(active_model):
    accounts_upsert(
        items=[
            {
                "domain": "acme.com",
                "name": "Acme",
                "employee_count": 500,
                "is_target": True,
                "owner": "ae@v.io",
            }
        ]
    )
    contacts_upsert(
        items=[
            {"email": "ceo@acme.com", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": "vp@acme.com", "seniority": "vp", "buying_role": "champion"},
        ]
    )
    events_ingest(items=[*mql_events("vp@acme.com"), pricing_view("ceo@acme.com")])
    pipeline_process()
    return active_model


def test_readiness_has_every_field_with_what_is_missing(api, acme):
    response = api.get("/api/v1/accounts/WWW.ACME.com/readiness")

    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("status_since", "computed_at")} == {
        "domain": "acme.com",
        "name": "Acme",
        "status": "engaged",
        "segment": None,
        "is_target": True,
        "owner": "ae@v.io",
        "fit": 50,
        "engagement": 70 * 1.5 + 10 * 2.0,
        "signal_score": 0.0,
        "engaged_contacts": 2,
        "mql_contacts": 1,
        "roles_covered": ["champion", "decision_maker"],
        "missing": [{"criterion": "engagement", "actual": 125.0, "required": 150}],
        "model_version": 1,
        "top_contacts": [
            {
                "email": "vp@acme.com",
                "buying_role": "champion",
                "status": "mql",
                "engagement": 70.0,
                "weight": 1.5,
            },
            {
                "email": "ceo@acme.com",
                "buying_role": "decision_maker",
                "status": "engaged",
                "engagement": 10.0,
                "weight": 2.0,
            },
        ],
    }
    assert body["status_since"] is not None and body["computed_at"] is not None


def test_readiness_of_an_unknown_domain_is_404(api, acme):
    assert api.get("/api/v1/accounts/nope.com/readiness").status_code == 404


def test_account_history_is_newest_first(api, acme):
    events_ingest(items=mql_events("ceo@acme.com"))
    pipeline_process()

    response = api.get("/api/v1/accounts/acme.com/history")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["from_status"], r["to_status"], r["model_version"], r["cause"]) for r in rows] == [
        ("engaged", "mqa", 1, "ingest"),
        ("none", "engaged", 1, "ingest"),
    ]
    assert rows[0]["explanation"]["missing"] == []
    assert response.json()["next"] is None


def test_the_account_list_filters_and_pages_with_a_cursor(api, acme):
    accounts_upsert(items=[{"domain": f"co{i}.com", "owner": "sdr@v.io"} for i in range(3)])

    assert [a["domain"] for a in api.get("/api/v1/accounts?is_target=true").json()["results"]] == [
        "acme.com"
    ]
    assert [a["domain"] for a in api.get("/api/v1/accounts?status=engaged").json()["results"]] == [
        "acme.com"
    ]
    first = api.get("/api/v1/accounts?owner=sdr@v.io&limit=2").json()
    second = api.get(first["next"]).json()
    assert [a["domain"] for a in first["results"] + second["results"]] == [
        "co0.com",
        "co1.com",
        "co2.com",
    ]
    assert second["next"] is None
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert api.get("/api/v1/accounts", {"updated_since": later}).json()["results"] == []
    assert api.get("/api/v1/accounts?status=hot").status_code == 400
    assert [a["domain"] for a in api.get("/api/v1/accounts?is_target=false").json()["results"]] == [
        "co0.com",
        "co1.com",
        "co2.com",
    ]


def test_an_account_filter_that_is_not_true_or_false_is_a_400_naming_it(api, acme):
    response = api.get("/api/v1/accounts?is_target=maybe")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["is_target"]


def test_contacts_by_email_and_by_id_with_their_scores(api, acme):
    found = api.get("/api/v1/contacts?email= VP@Acme.com ").json()["results"]
    assert len(found) == 1
    contact = api.get(f"/api/v1/contacts/{found[0]['id']}").json()

    assert contact == found[0]
    assert {
        k: contact[k]
        for k in (
            "email",
            "status",
            "fit",
            "engagement",
            "total",
            "disqualified_reasons",
            "account_domain",
            "model_version",
        )
    } == {
        "email": "vp@acme.com",
        "status": "mql",
        "fit": 50,
        "engagement": 70.0,
        "total": 120.0,
        "disqualified_reasons": [],
        "account_domain": "acme.com",
        "model_version": 1,
    }
    assert [r["label"] for r in contact["breakdown"]["fit"]] == ["Senior", "Big account"]
    assert api.get("/api/v1/contacts?email=nobody@acme.com").json() == {"results": [], "next": None}


def test_an_unlinked_contact_has_a_null_account_domain(api, active_model):
    contacts_upsert(items=[{"email": "jo@gmail.com"}])
    contact_id = Contact.objects.get().id

    assert api.get(f"/api/v1/contacts/{contact_id}").json()["account_domain"] is None


def test_contact_history_and_404s(api, acme):
    contact_id = Contact.objects.get(email="vp@acme.com").id

    rows = api.get(f"/api/v1/contacts/{contact_id}/history").json()["results"]

    assert [(r["from_status"], r["to_status"]) for r in rows] == [("none", "mql")]
    assert rows[0]["scores"] == {"fit": 50, "engagement": 70.0, "total": 120.0}
    assert api.get("/api/v1/contacts/999999").status_code == 404
    assert api.get("/api/v1/contacts/999999/history").status_code == 404
    assert api.get("/api/v1/accounts/nope.com/history").status_code == 404


def test_handoffs_list_filters(api, acme):
    now = timezone.now()
    contact = Contact.objects.get(email="vp@acme.com")
    Handoff.objects.create(kind="lead", contact=contact, assignee="ae@v.io", created_at=now)
    Handoff.objects.create(
        kind="account", account=contact.account, status="accepted", created_at=now
    )

    leads = api.get("/api/v1/handoffs?kind=lead").json()["results"]
    accepted = api.get("/api/v1/handoffs?status=accepted").json()["results"]

    assert [(h["kind"], h["contact_email"], h["assignee"], h["sla_breached"]) for h in leads] == [
        ("lead", "vp@acme.com", "ae@v.io", False)
    ]
    assert [(h["kind"], h["account_domain"]) for h in accepted] == [("account", "acme.com")]
    assert api.get("/api/v1/handoffs?assignee=nobody").json()["results"] == []
    assert api.get("/api/v1/handoffs?kind=other").status_code == 400


def test_pipeline_reports_pending_work_and_the_active_version(api, active_model):
    from mqa.models import RescoreRun

    RescoreRun.objects.update(state="done")
    events_ingest(items=[pricing_view("jo@acme.com")])

    body = api.get("/api/v1/pipeline").json()

    assert (body["pending"], body["active_model_version"], body["rescore"]["state"]) == (
        1,
        1,
        "done",
    )
    assert body["oldest_pending_seconds"] >= 0
    pipeline_process()
    assert api.get("/api/v1/pipeline").json()["pending"] == 0
