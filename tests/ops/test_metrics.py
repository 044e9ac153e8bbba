"""`/metrics`: the counters an ingest moves (exact deltas), the state read from the database,
the optional bearer token; and JSON log lines that carry the request id and the API key."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config.logging import JsonFormatter
from mqa.models import ContactStatusChange, Handoff, WebhookDelivery
from mqa.selectors import pipeline_status_get
from mqa.services.pipeline import pipeline_process
from tests.factories import event, mql_events, webhook_subscription

pytestmark = pytest.mark.django_db


def scrape(client: Client | None = None, **headers: str) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_an_ingest_moves_the_ingest_http_and_status_change_series_by_what_it_did(api, active_model):
    first, again = mql_events("jo@acme.com"), event("al@acme.com", id="once")
    before = scrape()

    assert (
        api.post("/api/v1/events/bulk", {"items": [*first, again]}, format="json").status_code
        == 202
    )
    assert api.post("/api/v1/events/bulk", {"items": [again]}, format="json").status_code == 202
    changed = {**again, "type": "webinar_attended"}  # same id, another payload
    assert api.post("/api/v1/events/bulk", {"items": [changed]}, format="json").status_code == 202
    bad = {
        "items": [
            {"email": "no-at-sign", "type": "x", "id": "1", "occurred_at": "2026-01-01T00:00:00Z"},
            again,
        ]
    }
    assert api.post("/api/v1/events/bulk", bad, format="json").status_code == 400
    pipeline_process()  # what a worker does after the ingest commits
    after = scrape()

    ingest = "mqa_ingest_items_total"
    assert delta(before, after, ingest, kind="events", outcome="accepted") == 5
    assert delta(before, after, ingest, kind="events", outcome="duplicate") == 1
    assert delta(before, after, ingest, kind="events", outcome="conflict") == 1
    assert delta(before, after, ingest, kind="events", outcome="rejected") == 2
    requests = "mqa_http_requests_total"
    route = {"view": "api/v1/events/bulk", "method": "POST"}
    assert delta(before, after, requests, **route, status="202") == 3
    assert delta(before, after, requests, **route, status="400") == 1
    latency = "mqa_http_request_duration_seconds_count"
    assert delta(before, after, latency, view="api/v1/events/bulk") == 4
    changes = "mqa_status_changes_total"
    stored = ContactStatusChange.objects.filter(to_status="engaged").count()
    assert stored == 2  # jo and al became engaged
    assert delta(before, after, changes, kind="contact", to="engaged") == stored
    status = pipeline_status_get()  # the publish's rescore waits: this test plays no worker
    assert after[("mqa_pipeline_pending", ())] == status["pending"] == 1
    assert after[("mqa_rescore_records", (("of", "done"),))] == 0


def test_handoffs_and_webhook_deliveries_are_counted_by_state():
    now = timezone.now()
    Handoff.objects.create(kind="lead", created_at=now)
    Handoff.objects.create(kind="lead", created_at=now, unassigned=True)
    Handoff.objects.create(kind="lead", created_at=now, sla_breached_at=now)
    Handoff.objects.create(kind="lead", created_at=now, status="accepted", sla_breached_at=now)
    subscription = webhook_subscription(
        url="https://example.com/h", event_types=["handoff.created"]
    )
    for state in ("pending", "dead", "dead"):
        WebhookDelivery.objects.create(
            subscription=subscription,
            event_type="handoff.created",
            webhook_id=f"msg_{state}_{WebhookDelivery.objects.count()}",
            payload={},
            next_attempt_at=now - timedelta(seconds=1),
            status=state,
        )

    metrics = scrape()

    assert [
        metrics[("mqa_handoffs_open", (("which", w),))] for w in ("all", "breached", "unassigned")
    ] == [3, 1, 1]
    assert [
        metrics[("mqa_webhook_deliveries", (("state", s),))]
        for s in ("pending", "delivered", "dead")
    ] == [1, 0, 2]


def test_a_metrics_token_is_asked_for_when_set(settings):
    settings.MQA_METRICS_TOKEN = "s3cret"

    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert ("mqa_pipeline_pending", ()) in scrape(HTTP_AUTHORIZATION="Bearer s3cret")


def test_a_request_log_line_is_json_with_the_request_id_and_the_api_key(api, caplog):
    caplog.set_level(logging.INFO, logger="mqa.requests")

    response = api.get("/api/v1/pipeline", HTTP_X_REQUEST_ID="req-42")

    assert response["X-Request-ID"] == "req-42"
    (record,) = [r for r in caplog.records if r.name == "mqa.requests"]
    line = json.loads(JsonFormatter().format(record))
    assert {k: line[k] for k in ("message", "method", "path", "route", "status")} == {
        "message": "request",
        "method": "GET",
        "path": "/api/v1/pipeline",
        "route": "api/v1/pipeline",
        "status": 200,
    }
    assert (line["request_id"], line["api_key"], line["level"]) == ("req-42", "test", "info")


def test_a_request_without_a_sane_id_gets_one(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="not sane: spaces")

    assert len(response["X-Request-ID"]) == 32 and response["X-Request-ID"].isalnum()
