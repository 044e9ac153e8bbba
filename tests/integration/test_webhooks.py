"""Webhooks delivered by a real worker to a real local receiver that fails at first."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import (
    AccountStatusChange,
    ContactStatusChange,
    Handoff,
    WebhookDelivery,
    WebhookSubscription,
)
from mqa.services.handoffs import handoff_accept, handoffs_mark_breached
from mqa.services.routing import routing_document_put
from tests.conftest import publish
from tests.factories import mql_events, webhook_subscription
from tests.integration.conftest import use_broker, wait_for
from tests.receiver import Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver(settings):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = True
    server = Receiver(fail_first=2).start()
    yield server
    server.stop()


def all_delivered() -> bool:
    return not WebhookDelivery.objects.exclude(status="delivered").exists()


def test_every_event_arrives_signed_and_retries_keep_their_id(
    celery_processes, receiver, test_document
):
    subscription = webhook_subscription(
        url=receiver.url, event_types=WebhookSubscription.Event.values
    )
    routing_document_put(
        document={
            "format": "mqa.routing/v1",
            "queues": [{"name": "q", "members": [{"assignee": "a@v.io"}]}],
            "default_queue": "q",
            "lead_sla_hours": 1,
        }
    )
    celery_processes.beat()
    celery_processes.worker("w1")
    publish(test_document)
    accounts_upsert(items=[{"domain": "acme.com"}])
    contacts_upsert(
        items=[
            {"email": "jo@acme.com", "seniority": "vp"},
            {"email": "al@acme.com", "seniority": "vp"},
        ]
    )
    events_ingest(items=mql_events("jo@acme.com") + mql_events("al@acme.com"))
    wait_for(
        lambda: Handoff.objects.count() == 2,
        seconds=30,
        what="two handoffs",
        logs=celery_processes.logs,
    )
    handoff_accept(handoff_id=Handoff.objects.get(contact__email="jo@acme.com").id)
    assert handoffs_mark_breached(now=timezone.now() + timedelta(hours=2)) == 1

    wait_for(all_delivered, seconds=60, what="every delivery", logs=celery_processes.logs)

    deliveries = list(WebhookDelivery.objects.all())
    assert Counter(d.event_type for d in deliveries) == {
        "contact.status_changed": 2,
        "account.status_changed": 1,
        "handoff.created": 2,
        "handoff.updated": 1,
        "handoff.sla_breached": 1,
    }
    assert {d.attempts for d in deliveries} == {3}
    assert receiver.delivered_ids() == {d.webhook_id for d in deliveries}
    assert Counter(r.webhook_id for r in receiver.requests) == {d.webhook_id: 3 for d in deliveries}
    changes = 0
    for request in receiver.requests:
        payload = Webhook(subscription.secret).verify(request.body, request.headers)
        assert payload["type"] in WebhookSubscription.Event.values
        if payload["type"].endswith(".status_changed"):
            # The scores arrive as the object the history row stored (not as JSON text).
            kind, data = payload["type"].split(".")[0], payload["data"]
            history = ContactStatusChange if kind == "contact" else AccountStatusChange
            stored = history.objects.get(**{f"{kind}_id": data[f"{kind}_id"]}, to_status=data["to"])
            assert data["scores"] == stored.scores
            changes += 1
    assert changes == 3 * 3  # three changes, each delivered three times


def test_a_change_committed_while_the_broker_is_down_is_delivered_when_it_is_back(
    celery_processes, receiver, broker
):
    receiver.fail_first = 0
    webhook_subscription(url=receiver.url, event_types=["handoff.updated"])
    handoff = Handoff.objects.create(kind="lead", created_at=timezone.now())
    use_broker("redis://127.0.0.1:1/0")  # nothing listens there

    handoff_accept(handoff_id=handoff.id)

    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["pending"]
    use_broker(broker)
    celery_processes.beat()
    celery_processes.worker("w1")
    wait_for(all_delivered, seconds=30, what="the delivery", logs=celery_processes.logs)
    assert len(receiver.requests) == 1
    assert receiver.requests[0].webhook_id == WebhookDelivery.objects.get().webhook_id
