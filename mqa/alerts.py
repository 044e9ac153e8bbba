"""Alerts for people: a webhook payload told as a message (Slack-compatible JSON, or an email's
subject and text). The outbox delivers them like every webhook (`mqa.services.webhooks`).

Pure: payload dicts in, text out. Ground layer.
"""

from __future__ import annotations

from typing import Any

_HEADLINES = {
    "handoff.created": "New {what}",
    "handoff.updated": "{what} handoff {status}",
    "handoff.sla_due_soon": "Due soon: {what}",
    "handoff.sla_breached": "SLA breached: {what}",
}


def alert_subject(payload: dict[str, Any]) -> str:
    event, data = payload["type"], payload["data"]
    if event == "webhook.dead":
        return f"Webhook subscription dead: {data.get('target')}"
    if event in _HEADLINES:
        what = (
            f"MQA: {data.get('account_domain')}"
            if data.get("kind") == "account"
            else f"MQL: {data.get('contact_email')}"
        )
        return _HEADLINES[event].format(what=what, status=data.get("status"))
    key = data.get("email") or data.get("domain")
    return f"{key}: {data.get('from')} → {data.get('to')}"


def alert_text(payload: dict[str, Any]) -> str:
    """The subject, then what a person acts on: who has it and by when, and why now."""
    event, data = payload["type"], payload["data"]
    lines = [alert_subject(payload)]
    if event == "webhook.dead":
        error = f": {data['last_error']}" if data.get("last_error") else ""
        lines.append(
            f"Deliveries of {data.get('event_type')} to it are failing "
            f"(last answer: {data.get('last_status_code') or 'none'}{error})."
            " Fix the receiver, then retry the dead deliveries in the admin."
        )
        return "\n".join(lines)
    if "handoff_id" in data:
        assignee = data.get("assignee") or "nobody (unassigned)"
        queue = f" in {data['queue']}" if data.get("queue") else ""
        lines.append(f"Assigned to {assignee}{queue}; due {data.get('due_at')}.")
        lines += _why_now(data.get("context") or {})
    return "\n".join(lines)


def _why_now(context: dict[str, Any]) -> list[str]:
    scores = context.get("scores") or {}
    lines = ["Scores: " + ", ".join(f"{k} {v}" for k, v in scores.items())] if scores else []
    committee = context.get("committee")
    if committee:
        roles = ", ".join(committee.get("roles_covered") or []) or "none"
        lines.append(
            f"Committee: {committee.get('engaged_contacts')} engaged, "
            f"{committee.get('mql_contacts')} MQL, roles {roles}"
        )
        missing = committee.get("missing") or []
        if missing:
            lines.append("Missing: " + ", ".join(str(m.get("criterion")) for m in missing))
    if context.get("campaign"):
        lines.append(f"Campaign: {context['campaign']}")
    if context.get("lead_source"):
        lines.append(f"Lead source: {context['lead_source']}")
    events = context.get("contributing_events") or []
    if events:
        lines.append("Why now:")
        for e in events[:10]:
            who = f" by {e['email']}" if e.get("email") else ""
            details = " ".join(f"{k}={v}" for k, v in (e.get("properties") or {}).items())
            lines.append(f"• {e['type']}{who} at {e['occurred_at'][:16]} {details}".rstrip())
    return lines


def slack_message(payload: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook body: `text` (also what notifications show) and one block."""
    text = alert_text(payload)
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
