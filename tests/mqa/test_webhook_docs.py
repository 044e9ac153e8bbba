"""The webhook payloads the service emits match the schemas the OpenAPI document publishes
for them (`components.schemas.Webhook*`), and each documented example does too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jsonschema_rs
import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.api.webhook_docs import component_name
from mqa.models import Handoff, WebhookDelivery, WebhookSubscription
from mqa.services.handoffs import handoff_accept, handoff_slas_watch
from mqa.services.pipeline import pipeline_process
from mqa.services.routing import routing_document_put
from tests.factories import mql_events, webhook_subscription
from tests.mqa.test_routing import ROUTING

pytestmark = pytest.mark.django_db


def json_schema(openapi: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's type list."""
    if isinstance(openapi, dict):
        schema = {k: json_schema(v) for k, v in openapi.items() if k not in ("nullable", "example")}
        if openapi.get("nullable"):
            schema["type"] = [openapi["type"], "null"]
        return schema
    if isinstance(openapi, list):
        return [json_schema(v) for v in openapi]
    return openapi


COMPONENTS = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def validator(event_type: str) -> Any:
    return jsonschema_rs.Draft202012Validator(json_schema(COMPONENTS[component_name(event_type)]))


@pytest.mark.parametrize("event_type", WebhookSubscription.Event.values)
def test_each_documented_example_matches_its_schema(event_type):
    example = COMPONENTS[component_name(event_type)]["example"]

    assert validator(event_type).is_valid(example)
    assert (example["type"], example["version"]) == (event_type, 1)


def test_every_payload_emitted_matches_its_documented_schema(active_model):
    routing_document_put(document=ROUTING)
    webhook_subscription(
        url="https://crm.example/hook", event_types=WebhookSubscription.Event.values
    )
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 500, "is_target": True}])
    contacts_upsert(
        items=[
            {"email": "ceo@acme.com", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": "vp@acme.com", "seniority": "vp", "buying_role": "champion"},
            {"email": "jo@gmail.com", "seniority": "vp"},
        ]
    )
    events_ingest(
        items=[e for m in ("ceo@acme.com", "vp@acme.com", "jo@gmail.com") for e in mql_events(m)]
    )
    pipeline_process()
    lead = Handoff.objects.get(kind="lead")
    handoff_accept(handoff_id=lead.id)
    handoff_slas_watch(now=timezone.now() + timedelta(hours=23.5))  # the account's: due soon
    handoff_slas_watch(now=timezone.now() + timedelta(days=2))

    payloads = list(WebhookDelivery.objects.order_by("id").values_list("payload", flat=True))
    # (webhook.dead: tests/mqa/test_alerts.py)
    assert {p["type"] for p in payloads} == set(WebhookSubscription.Event.values) - {"webhook.dead"}
    for payload in payloads:
        errors = [e.message for e in validator(payload["type"]).iter_errors(payload)]
        assert (payload["type"], errors) == (payload["type"], [])
