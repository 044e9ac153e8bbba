"""Why now: what a handoff tells sales about the record it hands over (the CRM's "content that
led to MQL status, the campaign, recent engagement").

Taken once, when the handoff is created, from the scores the same transaction stored and the
events and signals the active model counted: it says why the record qualified *then*, and
does not change as later events arrive. Versioned (`"version": 1`): webhooks and the API
carry it as it was stored.

* lead: the fit / engagement / total breakdown, the events that earned engagement points
  (type, time, the rule, the properties a CRM keeps: url, path, asset, form, campaign and
  UTM fields), the campaign of the most recent of them, the last activity of any type, the
  lead source;
* account: the same breakdown, the buying committee's coverage (engaged and MQL contacts,
  roles covered, what is missing, the top contacts), the contributing events of the
  committee's contacts and the contributing account signals, the last activity.

Step layer: reads tables and calls the pure engine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.models import Account, AccountSignal
from contacts.models import Contact, EngagementEvent
from mqa.scoring import Activity, contributing_activities
from mqa.scoring.segments import account_model, contact_model, segment_named
from mqa.scoring.types import ActivityRule, ScoringModel
from mqa.services.facts import activities_by_owner

VERSION = 1
# The properties of an event that a CRM keeps (Segment's and HubSpot's usual names).
NOTABLE = (
    "url",
    "path",
    "title",
    "referrer",
    "asset",
    "form",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)
MAX_EVENTS = 20


def _event(rule: ActivityRule | None, activity: Activity, **extra: Any) -> dict[str, Any]:
    return {
        "type": activity.type,
        "occurred_at": activity.occurred_at.isoformat(),
        **({"rule": rule.label} if rule is not None else {}),
        "properties": {k: activity.properties[k] for k in NOTABLE if k in activity.properties},
        **extra,
    }


def _campaign(events: list[dict[str, Any]]) -> str | None:
    for event in events:
        properties = event["properties"]
        found = properties.get("utm_campaign") or properties.get("campaign")
        if isinstance(found, str):
            return found
    return None


def _last_activity(contact_ids: list[int]) -> dict[str, Any] | None:
    row = (
        EngagementEvent.objects.filter(contact_id__in=contact_ids)
        .order_by("-occurred_at", "-id")
        .values("type", "occurred_at", "properties", "contact__email")
        .first()
    )
    if row is None:
        return None
    activity = Activity(row["type"], row["occurred_at"], row["properties"] or {})
    return _event(None, activity, email=row["contact__email"])


def lead_context(*, contact: Contact, model: ScoringModel, now: datetime) -> dict[str, Any]:
    score = contact.score
    # The segment whose model scored it (a contact's is its account's).
    segment = segment_named(model, score.segment)
    rules = contact_model(model, segment).engagement_rules
    activities = activities_by_owner(EngagementEvent, "contact_id", [contact.id], rules, now)
    counted = contributing_activities(rules, activities.get(contact.id, ()), now)
    events = sorted(
        (_event(rule, a) for rule, a in counted), key=lambda e: e["occurred_at"], reverse=True
    )[:MAX_EVENTS]
    last = _last_activity([contact.id])
    if last is not None:
        last.pop("email")
    return {
        "version": VERSION,
        "scores": {"fit": score.fit, "engagement": score.engagement, "total": score.total},
        "breakdown": score.breakdown,
        "contributing_events": events,
        "campaign": _campaign(events),
        "last_activity": last,
        "lead_source": contact.lead_source,
    }


def account_context(*, account: Account, model: ScoringModel, now: datetime) -> dict[str, Any]:
    score = account.score
    members = {
        c.id: c.email
        for c in Contact.objects.filter(account_id=account.id).only("id", "email").order_by("id")
    }
    segment = segment_named(model, score.segment)  # its contacts' too
    rules = contact_model(model, segment).engagement_rules
    by_contact = activities_by_owner(EngagementEvent, "contact_id", members, rules, now)
    events = [
        _event(rule, a, email=members[contact_id])
        for contact_id, activities in by_contact.items()
        for rule, a in contributing_activities(rules, activities, now)
    ]
    events.sort(key=lambda e: e["occurred_at"], reverse=True)
    signal_rules = account_model(model, segment).signal_rules
    by_account = activities_by_owner(AccountSignal, "account_id", [account.id], signal_rules, now)
    signals = [
        _event(rule, a)
        for rule, a in contributing_activities(signal_rules, by_account.get(account.id, ()), now)
    ]
    contacts = sorted(
        score.breakdown.get("contacts", []), key=lambda c: (-c["points"], c["email"])
    )[:10]
    return {
        "version": VERSION,
        "scores": {
            "fit": score.fit,
            "engagement": score.engagement,
            "signal_score": score.signal_score,
        },
        "breakdown": {k: v for k, v in score.breakdown.items() if k != "contacts"},
        "committee": {
            "engaged_contacts": score.engaged_contacts,
            "mql_contacts": score.mql_contacts,
            "roles_covered": score.roles_covered,
            "missing": score.missing,
            "top_contacts": [
                {k: c.get(k) for k in ("email", "buying_role", "status", "engagement")}
                for c in contacts
            ],
        },
        "contributing_events": events[:MAX_EVENTS],
        "contributing_signals": sorted(signals, key=lambda e: e["occurred_at"], reverse=True),
        "campaign": _campaign(events),
        "last_activity": _last_activity(list(members)),
    }
