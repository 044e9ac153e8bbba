"""The whole loop over HTTP only, against a live server, checked against the pure engine."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from mqa.scoring import Activity, CommitteeMember, parse_document, score_account, score_contact
from tests.factories import TEST_MODEL

pytestmark = pytest.mark.django_db(transaction=True)


def test_publish_ingest_and_read_readiness_over_http(live_server):
    out = StringIO()
    call_command("create_api_key", "loop", "--scopes", "read,ingest,admin", stdout=out)
    http = requests.Session()
    http.headers["Authorization"] = f"Api-Key {out.getvalue().strip().splitlines()[-1]}"
    url = f"{live_server.url}/api/v1"

    draft = http.post(f"{url}/scoring-models", json=TEST_MODEL).json()
    assert (
        http.post(f"{url}/scoring-models/{draft['id']}/publish", json={"route": True}).status_code
        == 202
    )
    account = {"domain": "acme.com", "name": "Acme", "employee_count": 800, "is_target": True}
    people = [
        {"email": "ceo@acme.com", "seniority": "c_level", "buying_role": "decision_maker"},
        {"email": "vp@acme.com", "seniority": "vp", "buying_role": "champion"},
        {"email": "dev@acme.com", "seniority": "individual", "buying_role": "user"},
    ]
    now = datetime.now(UTC)
    events = [
        {
            "email": email,
            "type": type_,
            "occurred_at": (now - timedelta(days=days)).isoformat(),
            "id": f"{email}-{n}",
            "properties": properties,
        }
        for n, (email, type_, days, properties) in enumerate(
            [
                ("ceo@acme.com", "demo_request", 3, {}),
                ("ceo@acme.com", "page_view", 1, {"url": "/pricing"}),
                ("ceo@acme.com", "page_view", 2, {"url": "/pricing"}),
                ("vp@acme.com", "demo_request", 20, {}),
                ("vp@acme.com", "page_view", 5, {"url": "/PRICING?plan=pro"}),
                ("vp@acme.com", "page_view", 40, {"url": "/pricing"}),
                ("dev@acme.com", "page_view", 1, {"url": "/docs"}),
                ("dev@acme.com", "page_view", 1, {"url": "/pricing"}),
            ]
        )
    ]
    signals = [
        {
            "account_domain": "acme.com",
            "type": "intent_surge",
            "occurred_at": (now - timedelta(days=2)).isoformat(),
            "id": "s1",
        }
    ]
    assert http.post(f"{url}/accounts/bulk", json={"items": [account]}).json() == {
        "created": 1,
        "updated": 0,
    }
    assert http.post(f"{url}/contacts/bulk", json={"items": people}).json() == {
        "created": 3,
        "updated": 0,
        "suppressed": 0,
    }
    assert http.post(f"{url}/events/bulk", json={"items": events}).status_code == 202
    assert http.post(f"{url}/signals/bulk", json={"items": signals}).status_code == 202

    deadline = time.monotonic() + 30
    while (pipeline := http.get(f"{url}/pipeline").json())["pending"] != 0:
        assert time.monotonic() < deadline, pipeline
        time.sleep(0.05)
    readiness = http.get(f"{url}/accounts/acme.com/readiness").json()

    model = parse_document(TEST_MODEL)
    at = datetime.fromisoformat(readiness["computed_at"].replace("Z", "+00:00"))
    members = []
    for person in people:
        mine = [
            Activity(e["type"], datetime.fromisoformat(e["occurred_at"]), e["properties"])
            for e in events
            if e["email"] == person["email"]
        ]
        facts = {**person, "custom": {}, "account": {**account, "custom": {}}}
        result = score_contact(model.contact, facts, mine, at)
        members.append(
            CommitteeMember(
                person["email"], person["buying_role"], result.status, result.engagement
            )
        )
    expected = score_account(
        model.account,
        {**account, "custom": {}},
        members,
        [Activity("intent_surge", datetime.fromisoformat(signals[0]["occurred_at"]))],
        at,
    )
    assert {
        k: readiness[k]
        for k in (
            "status",
            "fit",
            "engagement",
            "signal_score",
            "engaged_contacts",
            "mql_contacts",
            "roles_covered",
        )
    } == {
        "status": expected.status,
        "fit": expected.fit,
        "engagement": pytest.approx(expected.engagement, abs=0.01),
        "signal_score": expected.signal_score,
        "engaged_contacts": expected.engaged_contacts,
        "mql_contacts": expected.mql_contacts,
        "roles_covered": list(expected.roles_covered),
    }
    assert readiness["missing"] == list(expected.missing)
    assert readiness["status"] == "mqa"
