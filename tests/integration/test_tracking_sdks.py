"""The Tracking API fed by the real SDKs (SPEC §9): Segment's `segment-analytics-python` and
RudderStack's `rudder-sdk-python` send to a live server, a real Celery worker scores, and
everything is read back through the REST API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient

from accounts.models import Account
from contacts.models import EngagementEvent
from mqa.services.api_keys import api_key_create
from tests.conftest import publish
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def read_api(live_server: Any) -> tuple[requests.Session, str]:
    _, secret = api_key_create(name="reader", scopes=("read",))
    http = requests.Session()
    http.headers["Authorization"] = f"Api-Key {secret}"
    return http, f"{live_server.url}/api/v1"


def flushed(client: Any, errors: list[Any]) -> None:
    client.flush()
    assert errors == []


def test_segment_and_rudderstack_sdks_feed_contacts_accounts_and_scores(
    live_server, celery_processes, test_document
):
    celery_processes.worker("w1")
    publish(test_document)
    _, write_key = api_key_create(name="website", scopes=("ingest",))
    http, api = read_api(live_server)
    errors: list[Any] = []
    segment = SegmentClient(
        write_key, host=live_server.url, on_error=lambda e, batch: errors.append(e), max_retries=2
    )
    rudder = RudderClient(
        write_key, host=live_server.url, on_error=lambda e, batch: errors.append(e), max_retries=2
    )

    # Segment: an anonymous visitor reads pricing and requests a demo, then signs up.
    visitor = str(uuid.uuid4())
    for n in range(3):
        segment.page(anonymous_id=visitor, name="Pricing", properties={"url": f"/pricing?p={n}"})
    demo = str(uuid.uuid4())
    segment.track(anonymous_id=visitor, event="Demo Request", message_id=demo)
    flushed(segment, errors)
    segment.identify(
        user_id="u-ada",
        anonymous_id=visitor,
        traits={
            "email": "Ada@Acme.com",
            "firstName": "Ada",
            "seniority": "c_level",
            "buyingRole": "decision_maker",
            "company": {"domain": "acme.com", "name": "Acme"},
            "plan": "pro",
        },
    )
    segment.group(
        user_id="u-ada",
        group_id="g-acme",
        traits={"domain": "www.acme.com", "name": "Acme", "employees": 800, "tier": "gold"},
    )
    # A retried message is stored once.
    segment.track(anonymous_id=visitor, event="Demo Request", message_id=demo)
    flushed(segment, errors)

    # RudderStack (gzip bodies; identify traits under context.traits): a known user, and an
    # alias tying a browser's anonymous id to them.
    rudder.identify(
        user_id="u-bo",
        traits={"email": "bo@acme.com", "seniority": "vp", "buying_role": "champion"},
    )
    rudder.track(user_id="u-bo", event="Demo Request")
    rudder.alias(previous_id="anon-bo", user_id="u-bo")
    rudder.page(anonymous_id="anon-bo", properties={"url": "https://acme.io/pricing"})
    flushed(rudder, errors)

    def drained() -> bool:
        return http.get(f"{api}/pipeline").json()["pending"] == 0

    wait_for(drained, seconds=30, what="scoring what the SDKs sent", logs=celery_processes.logs)

    def contact(email: str) -> dict[str, Any]:
        [found] = http.get(f"{api}/contacts", params={"email": email}).json()["results"]
        return found

    ada, bo = contact("ada@acme.com"), contact("bo@acme.com")
    assert {k: ada[k] for k in ("first_name", "seniority", "buying_role", "custom")} == {
        "first_name": "Ada",
        "seniority": "c_level",
        "buying_role": "decision_maker",
        "custom": {"plan": "pro"},
    }
    # Fit: senior 30 + big account 20. Engagement: demo 40 + three pricing views 30.
    assert (ada["account_domain"], ada["status"], ada["fit"], ada["engagement"]) == (
        "acme.com",
        "mql",
        50,
        70.0,
    )
    # Demo 40 + the pricing view sent under the aliased anonymous id 10.
    assert (bo["account_domain"], bo["status"], bo["fit"], bo["engagement"]) == (
        "acme.com",
        "mql",
        50,
        50.0,
    )
    accounts = http.get(f"{api}/accounts").json()["results"]
    # Fit 50: `employees` became employee_count 800 (the rule is employee_count >= 200).
    assert [(a["domain"], a["name"], a["fit"]) for a in accounts] == [("acme.com", "Acme", 50)]
    assert Account.objects.values_list("employee_count", "custom").get() == (800, {"tier": "gold"})
    readiness = http.get(f"{api}/accounts/acme.com/readiness").json()
    assert {k: readiness[k] for k in ("status", "engaged_contacts", "mql_contacts")} == {
        "status": "mqa",
        "engaged_contacts": 2,
        "mql_contacts": 2,
    }
    assert readiness["engagement"] == pytest.approx(70 * 2.0 + 50 * 1.5)
    history = http.get(f"{api}/contacts/{ada['id']}/history").json()["results"]
    assert [(c["from_status"], c["to_status"]) for c in history][-1] == ("none", "mql")
    # Every message stored once: 3 pages, the demo request (sent twice) and Bo's two events.
    assert sorted(EngagementEvent.objects.values_list("contact__email", "type")) == [
        ("ada@acme.com", "demo_request"),
        *[("ada@acme.com", "page_view")] * 3,
        ("bo@acme.com", "demo_request"),
        ("bo@acme.com", "page_view"),
    ]
    assert EngagementEvent.objects.filter(source="segment", external_id=demo).count() == 1
    assert segment.queue.empty() and rudder.queue.empty()
