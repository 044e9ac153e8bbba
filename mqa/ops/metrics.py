"""`GET /metrics` in the Prometheus text format.

Two sources:
* counters kept by the processes that serve requests — HTTP requests and their latency by
  view, ingest items by kind and outcome. Under `make serve` several gunicorn workers share
  them through `PROMETHEUS_MULTIPROC_DIR`;
* the service's state, read from the database at each scrape, so every process answers alike
  — pending work and its oldest age, the rescore's progress, status changes by kind and
  status, open / breached / unassigned handoffs, webhook deliveries by state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from django.db.models import Count, Q
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mqa.models import (
    AccountStatusChange,
    ContactStatusChange,
    Handoff,
    RescoreRun,
    WebhookDelivery,
)
from mqa.selectors import pipeline_status_get

HTTP_REQUESTS = Counter(
    "mqa_http_requests",
    "HTTP requests answered, by view, method and status",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "mqa_http_request_duration_seconds", "Time to answer an HTTP request, by view", ["view"]
)
INGEST_ITEMS = Counter(
    "mqa_ingest_items",
    "Items sent to the ingest endpoints, by kind and outcome"
    " (accepted, duplicate, conflict, rejected: in a batch answered 400, so not stored)",
    ["kind", "outcome"],
)


class StateCollector(Collector):
    """The service's state as the database holds it, read at each scrape."""

    def collect(self) -> Iterator[Metric]:
        pipeline = pipeline_status_get()
        yield GaugeMetricFamily(
            "mqa_pipeline_pending", "Records waiting to be rescored", value=pipeline["pending"]
        )
        yield GaugeMetricFamily(
            "mqa_pipeline_oldest_pending_seconds",
            "Age of the oldest work waiting",
            value=pipeline["oldest_pending_seconds"],
        )
        rescore = GaugeMetricFamily(
            "mqa_rescore_records",
            "The latest rescore run (a publish's or the time refresh's): records done and in all",
            labels=["of"],
        )
        run = RescoreRun.objects.first()
        rescore.add_metric(["done"], run.done if run else 0)
        rescore.add_metric(["total"], run.total if run else 0)
        yield rescore
        changes = CounterMetricFamily(
            "mqa_status_changes",
            "Status changes stored, by kind and new status",
            labels=["kind", "to"],
        )
        for kind, history in (("contact", ContactStatusChange), ("account", AccountStatusChange)):
            counts = history.objects.values_list("to_status").annotate(n=Count("id"))
            for to_status, n in sorted(counts):
                changes.add_metric([kind, to_status], n)
        yield changes
        handoffs = GaugeMetricFamily(
            "mqa_handoffs_open", "Open handoffs: all, past their SLA, unassigned", labels=["which"]
        )
        open_ = Handoff.objects.filter(status=Handoff.Status.OPEN).aggregate(
            all=Count("id"),
            breached=Count("id", filter=Q(sla_breached_at__isnull=False)),
            unassigned=Count("id", filter=Q(unassigned=True)),
        )
        for which in ("all", "breached", "unassigned"):
            handoffs.add_metric([which], open_[which])
        yield handoffs
        deliveries = GaugeMetricFamily(
            "mqa_webhook_deliveries", "Webhook deliveries by state", labels=["state"]
        )
        by_state = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")))
        for state in WebhookDelivery.Status.values:
            deliveries.add_metric([state], by_state.get(state, 0))
        yield deliveries


class _ThisProcess(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def metrics_text() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector())
    return generate_latest(registry)
