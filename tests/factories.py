"""Small, explicit test data: a scoring model with round numbers, and item builders."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

TEST_MODEL: dict[str, Any] = {
    "format": "mqa.scoring-model/v1",
    "name": "Test model",
    "contact": {
        "fit": {
            "rules": [
                {
                    "label": "Senior",
                    "attribute": "seniority",
                    "op": "in",
                    "value": ["vp", "c_level"],
                    "points": 30,
                },
                {
                    "label": "Big account",
                    "attribute": "account.employee_count",
                    "op": "gte",
                    "value": 200,
                    "points": 20,
                },
            ]
        },
        "engagement": {
            "rules": [
                {"label": "Demo", "event_type": "demo_request", "points": 40, "window_days": 90},
                {
                    "label": "Pricing",
                    "event_type": "page_view",
                    "where": [{"property": "url", "op": "contains", "value": "/pricing"}],
                    "points": 10,
                    "max_count": 3,
                    "window_days": 30,
                },
            ]
        },
        "disqualifiers": [
            {"attribute": "seniority", "op": "eq", "value": "student", "reason": "student"}
        ],
        "thresholds": {"fit_floor": 30, "engagement_floor": 20, "total": 70, "engaged": 10},
    },
    "account": {
        "fit": {
            "rules": [{"attribute": "employee_count", "op": "gte", "value": 200, "points": 50}]
        },
        "signals": {
            "rules": [
                {"signal_type": "intent_surge", "points": 20, "max_count": 1, "window_days": 30}
            ]
        },
        "disqualifiers": [
            {"attribute": "custom.is_customer", "op": "eq", "value": True, "reason": "customer"}
        ],
        "role_weights": {"decision_maker": 2.0, "champion": 1.5},
        "thresholds": {
            "fit_floor": 40,
            "engagement": 150,
            "min_engaged_contacts": 2,
            "min_roles": 2,
            "required_roles": ["decision_maker"],
            "min_mql_contacts": 1,
        },
    },
}

_ids = itertools.count(1)


def event(
    email: str, type_: str = "demo_request", *, at: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "email": email,
        "type": type_,
        "occurred_at": (at or timezone.now() - timedelta(hours=1)).isoformat(),
        "id": extra.pop("id", f"evt-{next(_ids)}"),
        **extra,
    }


def pricing_view(email: str, *, at: datetime | None = None, **extra: Any) -> dict[str, Any]:
    return event(email, "page_view", at=at, properties={"url": "https://x.io/pricing"}, **extra)


def signal(
    domain: str, type_: str = "intent_surge", *, at: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "account_domain": domain,
        "type": type_,
        "occurred_at": (at or timezone.now() - timedelta(hours=1)).isoformat(),
        "id": extra.pop("id", f"sig-{next(_ids)}"),
        **extra,
    }


def mql_events(email: str) -> list[dict[str, Any]]:
    """Engagement 70 under TEST_MODEL: a demo request and three pricing views."""
    return [event(email)] + [pricing_view(email) for _ in range(3)]


def webhook_subscription(*, url: str, event_types: list[str]) -> Any:
    """A subscriber, as the admin stores one (the target is checked by its form)."""
    from mqa.models import WebhookSubscription
    from mqa.services.webhooks import webhook_secret_new

    return WebhookSubscription.objects.create(
        url=url, secret=webhook_secret_new(), event_types=sorted(set(event_types))
    )
