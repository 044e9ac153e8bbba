"""Outbound webhooks (SPEC §6): a durable outbox, Standard Webhooks signatures, retries.

`webhook_events_emit` writes one delivery row per subscriber inside the caller's
transaction, so a change and the news of it commit together; a task sends them after
commit, and the sweeper re-sends the wake-up while deliveries are due (a broker that was
down delays them, nothing more). Failed attempts back off exponentially; after
`MQA_WEBHOOK_MAX_ATTEMPTS` a delivery is dead, visible in the admin with a retry action.
Targets that resolve to loopback, private or link-local addresses are refused unless
`MQA_WEBHOOKS_ALLOW_PRIVATE` is set.

Imports models and the task seam (`mqa.dispatch`) only: every layer above may emit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from mqa import dispatch
from mqa.models import WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)
SECRET_PREFIX = "whsec_"


class WebhookTargetRefused(ValueError):
    """The URL is not one this service will post to."""


def webhook_secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_sign(*, secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the base64 key after `whsec_`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_target_check(url: str) -> None:
    """Raise `WebhookTargetRefused` unless `url` is http(s) to a public address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookTargetRefused("must be an http:// or https:// URL with a host")
    if settings.MQA_WEBHOOKS_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise WebhookTargetRefused(f"cannot resolve {parts.hostname}: {error}") from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_loopback
            or address.is_private
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            raise WebhookTargetRefused(
                f"{parts.hostname} resolves to {address}, a loopback/private/link-local address"
            )


def webhook_events_emit(*, event_type: str, payloads: list[dict[str, Any]]) -> int:
    """Queue `payloads` for every active subscriber of `event_type`, in this transaction."""
    if not payloads:
        return 0
    subscribers = [
        s for s in WebhookSubscription.objects.filter(active=True) if event_type in s.event_types
    ]
    if not subscribers:
        return 0
    now = timezone.now()
    rows = [
        WebhookDelivery(
            subscription=subscription,
            event_type=event_type,
            webhook_id=f"msg_{uuid.uuid4().hex}",
            payload={"type": event_type, "timestamp": now.isoformat(), "data": data},
            next_attempt_at=now,
        )
        for subscription in subscribers
        for data in payloads
    ]
    WebhookDelivery.objects.bulk_create(rows, batch_size=1000)
    transaction.on_commit(wake_webhook_sender)
    return len(rows)


def wake_webhook_sender() -> None:
    try:
        dispatch.send("webhooks_deliver")
    except Exception:
        if dispatch.runs_in_process():
            raise
        logger.warning("could not reach the broker; deliveries wait for the sweeper")


def _backoff(attempts: int) -> timedelta:
    base = settings.MQA_WEBHOOK_BACKOFF_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 6 * 3600))


def _claim(now: datetime, limit: int) -> list[int]:
    """Lease due deliveries so that a second sender skips them."""
    lease = now + timedelta(seconds=settings.MQA_WEBHOOK_TIMEOUT_SECONDS * 2 + 5)
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(status="pending", next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(id__in=ids).update(next_attempt_at=lease)
    return ids


def _send(delivery: WebhookDelivery, session: requests.Session) -> tuple[int | None, str]:
    subscription = delivery.subscription
    body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":"))
    timestamp = int(timezone.now().timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(
            secret=subscription.secret,
            webhook_id=delivery.webhook_id,
            timestamp=timestamp,
            body=body,
        ),
    }
    try:
        webhook_target_check(subscription.url)
        response = session.post(
            subscription.url,
            data=body.encode(),
            headers=headers,
            timeout=settings.MQA_WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except (requests.RequestException, WebhookTargetRefused) as error:
        return None, str(error)[:2000]
    return response.status_code, "" if response.ok else response.text[:2000]


def webhooks_deliver(*, limit: int = 200) -> int:
    """Send what is due; returns how many were delivered."""
    delivered = 0
    with requests.Session() as session:
        while ids := _claim(timezone.now(), limit):
            for delivery in WebhookDelivery.objects.filter(id__in=ids).select_related(
                "subscription"
            ):
                code, error = _send(delivery, session)
                now = timezone.now()
                attempts = delivery.attempts + 1
                update: dict[str, Any] = {
                    "attempts": attempts,
                    "last_attempt_at": now,
                    "last_status_code": code,
                    "last_error": error,
                }
                if code is not None and 200 <= code < 300:
                    update |= {"status": "delivered", "delivered_at": now}
                    delivered += 1
                elif attempts >= settings.MQA_WEBHOOK_MAX_ATTEMPTS:
                    update |= {"status": "dead"}
                else:
                    update |= {"next_attempt_at": now + _backoff(attempts)}
                WebhookDelivery.objects.filter(pk=delivery.pk, status="pending").update(**update)
    return delivered


def webhook_deliveries_due(*, now: datetime) -> bool:
    return WebhookDelivery.objects.filter(status="pending", next_attempt_at__lte=now).exists()


def webhook_deliveries_retry(*, delivery_ids: Iterable[int]) -> int:
    """Give dead deliveries a fresh set of attempts (admin action)."""
    return WebhookDelivery.objects.filter(pk__in=list(delivery_ids), status="dead").update(
        status="pending", attempts=0, next_attempt_at=timezone.now()
    )
