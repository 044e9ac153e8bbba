"""The webhook outbox, signatures and target checks, with a real local receiver."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from typing import Any

import pytest
from django.db import transaction
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from mqa.admin.webhooks import WebhookSubscriptionForm
from mqa.models import Handoff, WebhookDelivery, WebhookSubscription
from mqa.services.handoffs import handoff_accept
from mqa.services.webhooks import (
    WebhookTargetRefused,
    webhook_deliveries_retry,
    webhook_events_emit,
    webhook_secret_new,
    webhook_sign,
    webhook_target_check,
    webhooks_deliver,
)
from tests.factories import webhook_subscription
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = True
    settings.MQA_WEBHOOK_BACKOFF_SECONDS = 0
    server = Receiver(fail_first=1).start()
    yield server
    server.stop()


def test_signatures_verify_with_the_standard_webhooks_library():
    secret = webhook_secret_new()
    body = json.dumps({"type": "handoff.created", "data": {"id": 1}})

    now = int(time.time())
    signature = webhook_sign(secret=secret, webhook_id="msg_1", timestamp=now, body=body)

    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    assert Webhook(secret).verify(body, headers) == {"type": "handoff.created", "data": {"id": 1}}
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_secret_new()).verify(body, headers)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.4/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://100.64.1.1/x",  # shared address space (carrier-grade NAT): not global
        "http://[::ffff:127.0.0.1]/x",
        "http://224.0.0.1/x",
        "ftp://example.com/x",
    ],
)
def test_loopback_private_and_link_local_targets_are_refused(url):
    with pytest.raises(WebhookTargetRefused):
        webhook_target_check(url)
    form = WebhookSubscriptionForm(
        data={"url": url, "secret": webhook_secret_new(), "event_types": ["handoff.created"]}
    )
    assert not form.is_valid()
    assert list(form.errors) == ["url"]
    assert not WebhookSubscription.objects.exists()


def test_a_setting_allows_private_targets(settings):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = True

    webhook_target_check("http://127.0.0.1:8080/x")


def test_deliveries_are_written_in_the_transaction_of_the_change(receiver):
    webhook_subscription(url=receiver.url, event_types=["handoff.updated"])
    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_events_emit(event_type="handoff.updated", payloads=[{"id": 1}])
        raise RuntimeError("the change is rolled back")

    assert WebhookDelivery.objects.count() == 0
    webhook_events_emit(event_type="handoff.created", payloads=[{"id": 1}])
    assert WebhookDelivery.objects.count() == 0  # not subscribed to that type


def test_a_failed_delivery_is_retried_with_the_same_id_and_verifies(receiver, db):
    subscription = webhook_subscription(url=receiver.url, event_types=["handoff.updated"])
    handoff = Handoff.objects.create(kind="lead", created_at="2026-11-24T10:00:00Z")

    handoff_accept(handoff_id=handoff.id)
    assert webhooks_deliver() == 1  # the receiver fails the first attempt; no backoff here

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 204)
    assert [r.webhook_id for r in receiver.requests] == [delivery.webhook_id, delivery.webhook_id]
    for request in receiver.requests:
        payload = Webhook(subscription.secret).verify(request.body, request.headers)
        assert (payload["type"], payload["data"]["handoff_id"], payload["data"]["status"]) == (
            "handoff.updated",
            handoff.id,
            "accepted",
        )


def test_a_delivery_dies_after_the_last_attempt_and_can_be_retried(receiver, settings):
    settings.MQA_WEBHOOK_MAX_ATTEMPTS = 2
    receiver.fail_first = 5
    webhook_subscription(url=receiver.url, event_types=["handoff.updated"])
    webhook_events_emit(event_type="handoff.updated", payloads=[{"id": 7}])

    assert webhooks_deliver() == 0

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("dead", 2, 500)
    assert webhooks_deliver() == 0
    assert len(receiver.requests) == 2
    receiver.fail_first = 0
    assert webhook_deliveries_retry(delivery_ids=[delivery.id]) == 1
    assert webhooks_deliver() == 1
    assert WebhookDelivery.objects.get().status == "delivered"


PUBLIC = "93.184.215.14"


def fake_dns(monkeypatch: Any, answers: dict[str, list[tuple[str, int]]]) -> Counter[str]:
    """DNS (outside the service): each lookup of a name in `answers` gets its next answer, the
    last one repeating; other names resolve as usual. The answer for the public address stands
    for the network routing it: to a local receiver. Returns the lookups made of each name."""
    real = socket.getaddrinfo
    lookups: Counter[str] = Counter()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        address, to_port = answers[host][min(lookups[host], len(answers[host]) - 1)]
        lookups[host] += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, to_port or port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


@pytest.fixture
def public_and_internal():
    public, internal = Receiver().start(), Receiver().start()
    yield public, internal
    public.stop()
    internal.stop()


def test_a_send_connects_to_the_address_it_checked_not_to_a_later_answer(
    settings, monkeypatch, public_and_internal
):
    # given a name that answers a public address once, then an internal one (rebinding)
    public, internal = public_and_internal
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = False
    lookups = fake_dns(
        monkeypatch,
        {
            "hooks.example.test": [(PUBLIC, 0), ("127.0.0.1", internal.port)],
            PUBLIC: [("127.0.0.1", public.port)],
        },
    )
    webhook_subscription(url="http://hooks.example.test/hooks", event_types=["handoff.updated"])
    webhook_events_emit(event_type="handoff.updated", payloads=[{"id": 1}])

    # when it is sent
    assert webhooks_deliver() == 1

    # then the name was resolved once and the checked address got it, for that host
    assert lookups["hooks.example.test"] == 1
    assert [(r.headers["Host"], r.answered) for r in public.requests] == [
        ("hooks.example.test", 204)
    ]
    assert internal.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("delivered", 204)


def test_a_name_that_rebinds_to_a_private_address_after_the_subscription_check_is_refused(
    settings, monkeypatch, public_and_internal
):
    _, internal = public_and_internal
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = False
    fake_dns(monkeypatch, {"hooks.example.test": [(PUBLIC, 0), ("127.0.0.1", internal.port)]})
    url = "http://hooks.example.test/hooks"
    webhook_target_check(url)  # the subscription's check sees the public address
    webhook_subscription(url=url, event_types=["handoff.updated"])
    webhook_events_emit(event_type="handoff.updated", payloads=[{"id": 1}])

    assert webhooks_deliver() == 0

    assert internal.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error == (
        "hooks.example.test resolves to 127.0.0.1, which is not a public address"
    )


def test_a_redirect_is_not_followed_and_the_attempt_fails(settings):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = True
    settings.MQA_WEBHOOK_BACKOFF_SECONDS = 60  # one attempt now, the next one later
    target = Receiver().start()
    redirecting = Receiver(redirect_to=target.url).start()
    try:
        webhook_subscription(url=redirecting.url, event_types=["handoff.updated"])
        webhook_events_emit(event_type="handoff.updated", payloads=[{"id": 1}])

        assert webhooks_deliver() == 0

        assert [r.answered for r in redirecting.requests] == [302]
        assert target.requests == []
    finally:
        redirecting.stop()
        target.stop()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 302)
    assert delivery.last_error == f"redirects are not followed (to {target.url!r})"
