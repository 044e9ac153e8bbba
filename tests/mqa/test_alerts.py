"""Alerts (SPEC §6 outbound, for people): a new handoff, an SLA due soon or breached, a
subscription gone dead — by email through a real local SMTP server and as Slack-compatible
messages to a real local HTTP receiver, through the webhook outbox."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.alerts import alert_text
from mqa.models import Handoff, WebhookDelivery, WebhookSubscription
from mqa.services.handoffs import handoff_slas_watch
from mqa.services.pipeline import pipeline_process
from mqa.services.routing import routing_document_put
from mqa.services.webhooks import (
    webhook_deliveries_retry,
    webhook_events_emit,
    webhook_secret_new,
    webhooks_deliver,
)
from tests.factories import event, mql_events
from tests.mqa.test_routing import ROUTING
from tests.mqa.test_webhook_docs import validator
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def mailbox(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield box
    controller.stop()


@pytest.fixture
def receiver(settings):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = True
    settings.MQA_WEBHOOK_BACKOFF_SECONDS = 0
    server = Receiver().start()
    yield server
    server.stop()


def subscription(channel: str, events: list[str], **fields: Any) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        channel=channel, secret=webhook_secret_new(), event_types=events, **fields
    )


def mail_of(envelope: Any) -> tuple[list[str], str, str]:
    from email import message_from_bytes, policy

    message = message_from_bytes(envelope.original_content, policy=policy.default)
    return envelope.rcpt_tos, str(message["Subject"]), message.get_content().replace("\r\n", "\n")


def test_a_new_mqa_is_mailed_and_posted_to_slack_for_its_queue_with_why_now(
    active_model, mailbox, receiver
):
    routing_document_put(document=ROUTING)
    slack = subscription("slack", ["handoff.created"], url=receiver.url, queue="abm")
    subscription("email", ["handoff.created"], email="abm-team@vendor.io", queue="abm")
    subscription("slack", ["handoff.created"], url=receiver.url, queue="inbound")
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 500, "is_target": True}])
    contacts_upsert(
        items=[
            {"email": "ceo@acme.com", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": "vp@acme.com", "seniority": "vp", "buying_role": "champion"},
        ]
    )
    now = timezone.now()
    events_ingest(
        items=[
            *mql_events("vp@acme.com"),
            event("ceo@acme.com", at=now - timedelta(hours=2), properties={"utm_campaign": "abm"}),
            *[
                event(
                    "ceo@acme.com",
                    "page_view",
                    at=now - timedelta(minutes=m),
                    properties={"url": "/pricing"},
                )
                for m in (30, 20, 10)
            ],
        ]
    )
    pipeline_process()

    assert webhooks_deliver() == 2

    handoff = Handoff.objects.get(kind="account")
    assert (handoff.assignee, handoff.queue) == ("g@v.io", "abm")
    [delivery] = WebhookDelivery.objects.filter(subscription__channel="email")
    text = alert_text(delivery.payload)
    [(recipients, subject, body)] = [mail_of(m) for m in mailbox.messages]
    assert (recipients, subject, body.strip()) == (
        ["abm-team@vendor.io"],
        "New MQA: acme.com",
        text,
    )
    for line in [
        "New MQA: acme.com",
        f"Assigned to g@v.io in abm; due {handoff.due_at.isoformat()}.",
        "Scores: fit 50, engagement 245.0, signal_score 0.0",
        "Committee: 2 engaged, 2 MQL, roles champion, decision_maker",
        "Campaign: abm",
    ]:
        assert line in text.splitlines()
    assert any(line.startswith("• demo_request by ceo@acme.com") for line in text.splitlines())
    [posted] = receiver.requests  # the inbound queue's channel got nothing
    message = Webhook(slack.secret).verify(posted.body, posted.headers)
    assert message["text"] == text
    assert message["blocks"][0]["text"]["text"] == text


def test_a_channel_for_one_assignee_gets_only_their_handoffs(active_model):
    routing_document_put(document=ROUTING)
    mine = subscription(
        "slack", ["handoff.created"], url="https://hooks.example/a", assignee="a@v.io"
    )
    contacts_upsert(items=[{"email": f"p{i}@gmail.com", "seniority": "vp"} for i in range(2)])
    events_ingest(items=[e for i in range(2) for e in mql_events(f"p{i}@gmail.com")])
    pipeline_process()

    assert sorted(Handoff.objects.values_list("assignee", flat=True)) == ["a@v.io", "c@v.io"]
    assert [d.payload["data"]["assignee"] for d in mine.deliveries.all()] == ["a@v.io"]


def test_a_dead_subscription_is_alerted_once_until_it_recovers(mailbox, receiver, settings):
    settings.MQA_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.fail_first = 99
    crm = subscription("webhook", ["handoff.updated"], url=receiver.url)
    subscription("email", ["webhook.dead"], email="ops@vendor.io")
    webhook_events_emit(event_type="handoff.updated", payloads=[{"id": 1}, {"id": 2}])

    webhooks_deliver()

    assert list(crm.deliveries.values_list("status", flat=True)) == ["dead", "dead"]
    [(recipients, subject, body)] = [mail_of(m) for m in mailbox.messages]
    assert (recipients, subject) == (
        ["ops@vendor.io"],
        f"Webhook subscription dead: {receiver.url}",
    )
    assert body.splitlines()[1] == (
        "Deliveries of handoff.updated to it are failing (last answer: 500). Fix the receiver,"
        " then retry the dead deliveries in the admin."
    )
    [alert] = WebhookDelivery.objects.filter(event_type="webhook.dead")
    assert alert.payload["data"] | {"dead_since": None} == {
        "subscription_id": crm.pk,
        "channel": "webhook",
        "target": receiver.url,
        "event_type": "handoff.updated",
        "last_status_code": 500,
        "last_error": "",
        "dead_since": None,
    }
    assert validator("webhook.dead").is_valid(alert.payload)
    crm.refresh_from_db()
    assert crm.dead_since is not None

    receiver.fail_first = 0
    webhook_deliveries_retry(delivery_ids=crm.deliveries.values_list("id", flat=True))
    webhooks_deliver()

    crm.refresh_from_db()
    assert crm.dead_since is None
    assert len(mailbox.messages) == 1  # no second alert


def test_an_sla_due_soon_is_announced_once_then_its_breach(active_model, receiver, settings):
    settings.MQA_SLA_WARN_MINUTES = 60
    routing_document_put(document=ROUTING)
    channel = subscription(
        "slack", ["handoff.sla_due_soon", "handoff.sla_breached"], url=receiver.url
    )
    contacts_upsert(items=[{"email": "p@gmail.com", "seniority": "vp"}])
    events_ingest(items=mql_events("p@gmail.com"))
    pipeline_process()
    due = Handoff.objects.get().due_at

    handoff_slas_watch(now=due - timedelta(minutes=90))  # not yet
    handoff_slas_watch(now=due - timedelta(minutes=45))
    handoff_slas_watch(now=due - timedelta(minutes=5))  # already told
    handoff_slas_watch(now=due + timedelta(minutes=1))
    webhooks_deliver()

    assert [d.event_type for d in channel.deliveries.order_by("id")] == [
        "handoff.sla_due_soon",
        "handoff.sla_breached",
    ]
    texts = [json.loads(r.body)["text"].splitlines()[0] for r in receiver.requests]
    assert texts == ["Due soon: MQL: p@gmail.com", "SLA breached: MQL: p@gmail.com"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": "email", "email": ""}, "email"),
        ({"channel": "slack", "url": ""}, "url"),
        ({"channel": "slack", "url": "http://127.0.0.1/hook"}, "url"),  # the same address rules
    ],
)
def test_a_channel_needs_its_target(data, field):
    from mqa.admin.webhooks import WebhookSubscriptionForm

    form = WebhookSubscriptionForm(
        data={"secret": webhook_secret_new(), "event_types": ["handoff.created"], **data}
    )

    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert not WebhookSubscription.objects.exists()


def test_an_email_channel_is_valid_without_a_url():
    from mqa.admin.webhooks import WebhookSubscriptionForm

    form = WebhookSubscriptionForm(
        data={
            "channel": "email",
            "email": "ops@vendor.io",
            "secret": webhook_secret_new(),
            "event_types": ["webhook.dead"],
        }
    )

    assert form.is_valid(), form.errors
    assert str(form.save()) == "ops@vendor.io"
