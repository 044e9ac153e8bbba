"""The webhook payloads in the OpenAPI document (`components.schemas.Webhook*`), versioned,
with an example per event type. A test validates the payloads the service really emits
against these schemas, so the documentation cannot drift from them.

Every delivery is `{"type", "version", "timestamp", "data"}` (Standard Webhooks headers
`webhook-id`, `webhook-timestamp`, `webhook-signature`). `version` is 1; a change that is not
additive will come as a new version.
"""

from __future__ import annotations

from typing import Any

from mqa.services.webhooks import PAYLOAD_VERSION as VERSION

_TEXT = {"type": "string", "nullable": True}
_TIME = {"type": "string", "format": "date-time"}
_CONTEXT_EXAMPLE = {
    "version": 1,
    "scores": {"fit": 50, "engagement": 70.0, "total": 120.0},
    "breakdown": {
        "fit": [{"label": "Senior", "attribute": "seniority", "points": 30}],
        "engagement": [{"label": "Demo", "type": "demo_request", "count": 1, "points": 40.0}],
        "disqualifiers": [],
    },
    "contributing_events": [
        {
            "type": "demo_request",
            "occurred_at": "2026-12-01T09:05:00+00:00",
            "rule": "Demo",
            "properties": {"utm_campaign": "q4-webinar", "url": "https://acme.example/demo"},
        }
    ],
    "campaign": "q4-webinar",
    "last_activity": {
        "type": "page_view",
        "occurred_at": "2026-12-01T09:07:00+00:00",
        "properties": {"path": "/pricing"},
    },
    "lead_source": "webinar",
}
_STATUS_DATA: dict[str, Any] = {
    "type": "object",
    "required": ["from", "to", "changed_at", "model_version", "cause", "scores"],
    "properties": {
        "from": {"type": "string"},
        "to": {"type": "string"},
        "changed_at": _TIME,
        "model_version": {"type": "integer"},
        "cause": {"type": "string", "enum": ["ingest", "publish", "time"]},
        "scores": {"type": "object"},
    },
}
_HANDOFF_DATA: dict[str, Any] = {
    "type": "object",
    "required": ["handoff_id", "kind", "status", "assignee", "decision", "context", "due_at"],
    "properties": {
        "handoff_id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["lead", "account"]},
        "status": {"type": "string", "enum": ["open", "accepted", "rejected"]},
        "outcome": _TEXT,
        "contact_email": _TEXT,
        "account_domain": {
            **_TEXT,
            "description": "the account; for a lead, its contact's linked account (null: none)",
        },
        "assignee": _TEXT,
        "queue": _TEXT,
        "unassigned": {"type": "boolean"},
        "reason": _TEXT,
        "decision": {
            "type": "object",
            "description": "why it went where it went: `assignee`, `queue`, `owner_used`, "
            "`skipped`, `unassigned`, and the routing rule that chose the queue by its 0-based "
            "`rule` position and, when one did, its `rule_label`",
        },
        "context": {
            "type": "object",
            "description": "why now (docs/crm.md): scores, breakdown, contributing events, "
            "campaign, last activity, lead source; for accounts the committee",
        },
        "due_at": {"type": "string", "format": "date-time", "nullable": True},
    },
}
_HANDOFF_EXAMPLE = {
    "handoff_id": 42,
    "kind": "lead",
    "status": "open",
    "outcome": None,
    "contact_email": "ada@acme.com",
    "account_domain": "acme.com",
    "assignee": "sdr@vendor.example",
    "queue": "inbound",
    "unassigned": False,
    "reason": None,
    "decision": {"assignee": "sdr@vendor.example", "queue": "inbound", "rule": None},
    "context": _CONTEXT_EXAMPLE,
    "due_at": "2026-12-01T13:05:00+00:00",
}
EVENTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "contact.status_changed": (
        {
            **_STATUS_DATA,
            "required": [*_STATUS_DATA["required"], "contact_id", "email"],
            "properties": {
                **_STATUS_DATA["properties"],
                "contact_id": {"type": "integer"},
                "email": _TEXT,
            },
        },
        {
            "contact_id": 7,
            "email": "ada@acme.com",
            "from": "engaged",
            "to": "mql",
            "changed_at": "2026-12-01T09:05:02+00:00",
            "model_version": 3,
            "cause": "ingest",
            "scores": {"fit": 50, "engagement": 70.0, "total": 120.0},
        },
    ),
    "account.status_changed": (
        {
            **_STATUS_DATA,
            "required": [*_STATUS_DATA["required"], "account_id", "domain"],
            "properties": {
                **_STATUS_DATA["properties"],
                "account_id": {"type": "integer"},
                "domain": _TEXT,
            },
        },
        {
            "account_id": 3,
            "domain": "acme.com",
            "from": "engaged",
            "to": "mqa",
            "changed_at": "2026-12-01T09:05:02+00:00",
            "model_version": 3,
            "cause": "ingest",
            "scores": {"fit": 50, "engagement": 245.0, "signal_score": 20.0},
        },
    ),
    "handoff.created": (_HANDOFF_DATA, _HANDOFF_EXAMPLE),
    "handoff.updated": (_HANDOFF_DATA, {**_HANDOFF_EXAMPLE, "status": "accepted"}),
    "handoff.sla_breached": (_HANDOFF_DATA, _HANDOFF_EXAMPLE),
    "handoff.sla_due_soon": (_HANDOFF_DATA, _HANDOFF_EXAMPLE),
    "webhook.dead": (
        {
            "type": "object",
            "required": ["subscription_id", "channel", "target", "event_type", "dead_since"],
            "properties": {
                "subscription_id": {"type": "integer"},
                "channel": {"type": "string", "enum": ["webhook", "slack", "email"]},
                "target": {"type": "string", "description": "its URL or email address"},
                "event_type": {"type": "string", "description": "of the delivery that died"},
                "last_status_code": {"type": "integer", "nullable": True},
                "last_error": {"type": "string"},
                "dead_since": _TIME,
            },
        },
        {
            "subscription_id": 5,
            "channel": "webhook",
            "target": "https://crm.example/hooks",
            "event_type": "handoff.created",
            "last_status_code": 502,
            "last_error": "Bad Gateway",
            "dead_since": "2026-12-01T10:00:00+00:00",
        },
    ),
}


def component_name(event_type: str) -> str:
    """`handoff.sla_breached` → `WebhookHandoffSlaBreached`."""
    return "Webhook" + "".join(p.title() for p in event_type.replace(".", "_").split("_"))


def webhook_schemas() -> dict[str, dict[str, Any]]:
    """One JSON schema per event type: the envelope with its `data`, and an example."""
    return {
        component_name(event_type): {
            "type": "object",
            "description": f"The `{event_type}` webhook (payload version {VERSION}).",
            "required": ["type", "version", "timestamp", "data"],
            "properties": {
                "type": {"type": "string", "enum": [event_type]},
                "version": {"type": "integer", "enum": [VERSION]},
                "timestamp": _TIME,
                "data": data,
            },
            "example": {
                "type": event_type,
                "version": VERSION,
                "timestamp": "2026-12-01T09:05:02+00:00",
                "data": example,
            },
        }
        for event_type, (data, example) in EVENTS.items()
    }


def document_webhooks(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the payloads join the schema's components."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(webhook_schemas())
    return result
