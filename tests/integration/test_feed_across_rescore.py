"""A reverse-ETL job polling `GET /api/v1/contacts?updated_since=` while two workers rescore
every contact after a publish, chunk by chunk: it sees each changed contact exactly once,
already scored by the new model."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import requests

from contacts.services import contacts_upsert, events_ingest
from mqa.selectors import pipeline_status_get
from mqa.services.api_keys import api_key_create
from tests.conftest import publish
from tests.factories import pricing_view
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

CONTACTS = 240


def settled() -> bool:
    status = pipeline_status_get()
    return status["pending"] == 0 and status["rescore"]["state"] in ("done", "idle", None)


def test_a_poller_sees_every_contact_rescored_by_a_publish_exactly_once(
    live_server, celery_processes, test_document
):
    celery_processes.env.update({"MQA_RESCORE_CHUNK": "5", "MQA_BULK_CHUNK": "5"})
    celery_processes.worker("w1")
    celery_processes.worker("w2")
    first = publish(test_document)
    contacts_upsert(items=[{"email": f"p{n}@acme.com", "seniority": "vp"} for n in range(CONTACTS)])
    events_ingest(items=[pricing_view(f"p{n}@acme.com") for n in range(0, CONTACTS, 3)])
    wait_for(settled, seconds=60, what="the first scores", logs=celery_processes.logs)
    _, secret = api_key_create(name="reverse-etl", scopes=("read",))
    http = requests.Session()
    http.headers["Authorization"] = f"Api-Key {secret}"

    def poll(url: str) -> tuple[list[dict[str, Any]], str]:
        """Follow `next` until a page comes back short; the cursor to poll again."""
        seen = []
        while True:
            body = http.get(url).json()
            seen += body["results"]
            url = body["next"]
            if len(body["results"]) < 7:
                return seen, url

    start = f"{live_server.url}/api/v1/contacts?updated_since=2000-01-01T00:00:00Z&limit=7"
    before, cursor = poll(start)
    assert len(before) == CONTACTS
    assert {c["model_version"] for c in before} == {first.version}

    document = {**test_document, "name": "Heavier pricing"}
    document["contact"]["engagement"]["rules"][1]["points"] = 25
    second = publish(document, route=False)
    after: list[dict[str, Any]] = []
    during = 0  # pages that brought contacts while the rescore was still running
    deadline = time.monotonic() + 60
    while not settled():
        body = http.get(cursor).json()
        after += body["results"]
        during += bool(body["results"]) and not settled()
        cursor = body["next"]
        assert time.monotonic() < deadline, "the rescore did not settle"
    seen, cursor = poll(cursor)  # and the rest, once everything settled
    after += seen

    assert Counter(Counter(c["email"] for c in after).values()) == {1: CONTACTS}
    assert {c["model_version"] for c in after} == {second.version}
    viewed = {f"p{n}@acme.com" for n in range(0, CONTACTS, 3)}
    assert {c["email"]: c["engagement"] for c in after} == {
        f"p{n}@acme.com": (25.0 if f"p{n}@acme.com" in viewed else 0.0) for n in range(CONTACTS)
    }
    assert during > 1  # it read changes while the rescore was writing others
