"""Outbound webhooks and alerts (SPEC §6): a durable outbox, Standard Webhooks signatures,
retries. A Slack channel gets the payload told as a message (`mqa.alerts`), signed the same;
an email channel gets it as a mail through Django's mail backend. The first delivery of a
subscription to die alerts the other subscribers of `webhook.dead`, once until it recovers.

`webhook_events_emit` writes one delivery row per subscriber inside the caller's
transaction, so a change and the news of it commit together; a task sends them after
commit, and the sweeper re-sends the wake-up while deliveries are due (a broker that was
down delays them, nothing more). Failed attempts back off exponentially; after
`MQA_WEBHOOK_MAX_ATTEMPTS` a delivery is dead, visible in the admin with a retry action.
Targets that resolve to an address that is not global (loopback, private, link-local,
shared `100.64.0.0/10`, reserved) or to a multicast one are refused unless
`MQA_WEBHOOKS_ALLOW_PRIVATE` is set. A send resolves the host once, checks every address and
connects to the checked one (TLS still names and verifies the host), so a DNS answer that
changes after the check (rebinding) cannot point it elsewhere; redirects are never followed,
a 3xx is a failed attempt.

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
import smtplib
import socket
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from requests.adapters import HTTPAdapter

from mqa import dispatch
from mqa.alerts import alert_subject, alert_text, slack_message
from mqa.models import WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)
SECRET_PREFIX = "whsec_"
# The payloads' shape (documented in the OpenAPI components, `mqa.api.webhook_docs`).
PAYLOAD_VERSION = 1


class WebhookTargetRefused(ValueError):
    """The URL is not one this service will post to."""


class WebhookHostUnresolved(WebhookTargetRefused):
    """The URL's host has no address (DNS knows no such name, or cannot be asked)."""

    def __init__(self, hostname: str) -> None:
        super().__init__(f"{hostname} was not found in DNS")
        self.hostname = hostname


class WebhookAddressNotPublic(WebhookTargetRefused):
    """The URL's host resolves to a loopback, private, link-local or other non-public address."""


def webhook_secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_sign(*, secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the base64 key after `whsec_`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_target_check(url: str) -> None:
    """Raise `WebhookTargetRefused` unless `url` is http(s) to a public address."""
    parts, port = _target(url)
    if not settings.MQA_WEBHOOKS_ALLOW_PRIVATE:
        _checked_address(parts, port)


def _target(url: str) -> tuple[SplitResult, int]:
    """The parts of an http(s) URL with a host, and the port it names or implies."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookTargetRefused("must be an http:// or https:// URL with a host")
    try:
        port = parts.port
    except ValueError as error:  # out of range, not a number
        raise WebhookTargetRefused(str(error)) from error
    return parts, port or (443 if parts.scheme == "https" else 80)


def _checked_address(parts: SplitResult, port: int) -> str:
    """Resolve the host once and check every address; the one to connect to."""
    hostname = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        # The resolver's own words ("[Errno -2] Name or service not known") say less.
        raise WebhookHostUnresolved(hostname) from error
    # An IPv6 link-local answer carries its zone (`fe80::1%eth0`); the address is before it.
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise WebhookHostUnresolved(hostname)
    if not settings.MQA_WEBHOOKS_ALLOW_PRIVATE:
        for address in addresses:
            if not address.is_global or address.is_multicast:
                raise WebhookAddressNotPublic(
                    f"{hostname} resolves to {address}, which is not a public address"
                )
    return str(addresses[0])


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address in the URL (the checked one) while TLS, like the `Host` header,
    names the subscription's host: SNI and certificate verification are for the hostname."""

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if host_params["scheme"] == "https":
            host = request.headers["Host"]
            host = host.decode() if isinstance(host, bytes) else host
            pool_kwargs["server_hostname"] = urlsplit(f"//{host}").hostname
        return host_params, pool_kwargs


def _post(
    session: requests.Session, url: str, body: bytes, headers: dict[str, str]
) -> requests.Response:
    parts, port = _target(url)
    address = _checked_address(parts, port)
    host = f"[{address}]" if ":" in address else address
    userinfo, _, hostport = parts.netloc.rpartition("@")
    pinned = parts._replace(netloc=(f"{userinfo}@" if userinfo else "") + f"{host}:{port}")
    return session.post(
        pinned.geturl(),
        data=body,
        headers={**headers, "Host": hostport},
        timeout=settings.MQA_WEBHOOK_TIMEOUT_SECONDS,
        allow_redirects=False,  # a redirect could lead anywhere: it is a failed attempt
    )


def _wants(subscription: WebhookSubscription, data: dict[str, Any]) -> bool:
    """A subscription narrowed to an assignee or a queue gets only the handoffs that match."""
    if "handoff_id" not in data:
        return True
    return (not subscription.assignee or data.get("assignee") == subscription.assignee) and (
        not subscription.queue or data.get("queue") == subscription.queue
    )


def webhook_events_emit(
    *, event_type: str, payloads: list[dict[str, Any]], exclude: int | None = None
) -> int:
    """Queue `payloads` for every active subscriber of `event_type` that wants them (not the
    subscription `exclude`), in this transaction."""
    if not payloads:
        return 0
    active = WebhookSubscription.objects.filter(active=True)
    if exclude is not None:
        active = active.exclude(pk=exclude)
    subscribers = [s for s in active if event_type in s.event_types]
    if not subscribers:
        return 0
    now = timezone.now()
    rows = [
        WebhookDelivery(
            subscription=subscription,
            event_type=event_type,
            webhook_id=f"msg_{uuid.uuid4().hex}",
            payload={
                "type": event_type,
                "version": PAYLOAD_VERSION,
                "timestamp": now.isoformat(),
                "data": data,
            },
            next_attempt_at=now,
        )
        for subscription in subscribers
        for data in payloads
        if _wants(subscription, data)
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
    """One attempt: (the HTTP status, or 250 for mail the SMTP server took; the error)."""
    subscription = delivery.subscription
    Channel = WebhookSubscription.Channel
    if subscription.channel == Channel.EMAIL:
        return _mail(delivery)
    document = (
        slack_message(delivery.payload)
        if subscription.channel == Channel.SLACK
        else delivery.payload
    )
    body = json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":"))
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
        response = _post(session, subscription.url, body.encode(), headers)
    except (requests.RequestException, WebhookTargetRefused) as error:
        return None, str(error)[:2000]
    if response.is_redirect:
        location = response.headers.get("location", "")[:1000]
        return response.status_code, f"redirects are not followed (to {location!r})"
    return response.status_code, "" if response.ok else response.text[:2000]


def _mail(delivery: WebhookDelivery) -> tuple[int | None, str]:
    message = EmailMessage(
        subject=alert_subject(delivery.payload)[:200],
        body=alert_text(delivery.payload),
        to=[delivery.subscription.email],
        headers={"Message-ID": f"<{delivery.webhook_id}@mqa>"},  # the same on a retry
    )
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as error:
        return None, str(error)[:2000]
    return 250, ""


def _subscription_died(
    delivery: WebhookDelivery, now: datetime, code: int | None, error: str
) -> None:
    """The first delivery to die marks its subscription dead and alerts the others, once: no
    more until a delivery to it succeeds again."""
    subscription = delivery.subscription
    if not WebhookSubscription.objects.filter(pk=subscription.pk, dead_since__isnull=True).update(
        dead_since=now
    ):
        return
    webhook_events_emit(
        event_type="webhook.dead",
        payloads=[
            {
                "subscription_id": subscription.pk,
                "channel": subscription.channel,
                "target": str(subscription),
                "event_type": delivery.event_type,
                "last_status_code": code,
                "last_error": error[:500],
                "dead_since": now.isoformat(),
            }
        ],
        exclude=subscription.pk,
    )


def webhooks_deliver(*, limit: int = 200) -> int:
    """Send what is due; returns how many were delivered."""
    delivered = 0
    with requests.Session() as session:
        for prefix in ("http://", "https://"):
            session.mount(prefix, _PinnedAdapter())
        while ids := _claim(timezone.now(), limit):
            claimed = WebhookDelivery.objects.filter(id__in=ids).select_related("subscription")
            for delivery in claimed.order_by("next_attempt_at", "id"):  # in the order emitted
                code, error = _send(delivery, session)
                now = timezone.now()
                attempts = delivery.attempts + 1
                update: dict[str, Any] = {
                    "attempts": attempts,
                    "last_attempt_at": now,
                    "last_status_code": code,
                    "last_error": error,
                }
                ok = code is not None and 200 <= code < 300
                if ok:
                    update |= {"status": "delivered", "delivered_at": now}
                    delivered += 1
                elif attempts >= settings.MQA_WEBHOOK_MAX_ATTEMPTS:
                    update |= {"status": "dead"}
                else:
                    update |= {"next_attempt_at": now + _backoff(attempts)}
                if not WebhookDelivery.objects.filter(pk=delivery.pk, status="pending").update(
                    **update
                ):
                    continue
                if ok and delivery.subscription.dead_since is not None:
                    WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(
                        dead_since=None
                    )
                elif update.get("status") == "dead":
                    _subscription_died(delivery, now, code, error)
    return delivered


def webhook_deliveries_due(*, now: datetime) -> bool:
    return WebhookDelivery.objects.filter(status="pending", next_attempt_at__lte=now).exists()


def webhook_deliveries_retry(*, delivery_ids: Iterable[int]) -> int:
    """Give dead deliveries a fresh set of attempts (admin action)."""
    return WebhookDelivery.objects.filter(pk__in=list(delivery_ids), status="dead").update(
        status="pending", attempts=0, next_attempt_at=timezone.now()
    )
