from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account, AccountSignal
from contacts.models import Contact, EngagementEvent
from mqa.models import PendingWork
from tests.factories import event, signal
from tests.problems import problem

pytestmark = pytest.mark.django_db


def test_accounts_bulk_upserts_partially(api):
    first = api.post(
        "/api/v1/accounts/bulk",
        {"items": [{"domain": "Acme.com", "name": "Acme", "tier": "1"}]},
        format="json",
    )
    second = api.post(
        "/api/v1/accounts/bulk",
        {"items": [{"domain": "acme.com", "tier": None}, {"domain": "globex.com"}]},
        format="json",
    )

    assert (first.status_code, first.json()) == (200, {"created": 1, "updated": 0})
    assert (second.status_code, second.json()) == (200, {"created": 1, "updated": 1})
    assert list(Account.objects.values_list("domain", "name", "tier")) == [
        ("acme.com", "Acme", None),
        ("globex.com", None, None),
    ]


def test_contacts_bulk_upserts(api):
    response = api.post(
        "/api/v1/contacts/bulk",
        {"items": [{"email": "Jo@Acme.com", "seniority": "vp"}]},
        format="json",
    )

    assert (response.status_code, response.json()) == (
        200,
        {"created": 1, "updated": 0, "suppressed": 0},
    )
    assert Contact.objects.get().email == "jo@acme.com"


def test_events_bulk_reports_duplicates_and_conflicts(api):
    item = event("jo@acme.com", id="e1")
    api.post("/api/v1/events/bulk", {"items": [item]}, format="json")

    response = api.post(
        "/api/v1/events/bulk",
        {"items": [item, {**item, "type": "webinar"}, event("jo@acme.com", id="e2")]},
        format="json",
    )

    assert response.status_code == 202
    assert response.json() == {
        "accepted": 1,
        "duplicates": 1,
        "conflicts": [{"index": 1, "id": "e1"}],
        "suppressed": 0,
    }
    assert EngagementEvent.objects.count() == 2


def test_signals_bulk_is_accepted(api):
    response = api.post(
        "/api/v1/signals/bulk", {"items": [signal("acme.com", id="s1")]}, format="json"
    )

    assert (response.status_code, response.json()) == (
        202,
        {"accepted": 1, "duplicates": 0, "conflicts": [], "suppressed": 0},
    )
    assert AccountSignal.objects.get().account.domain == "acme.com"


@pytest.mark.parametrize(
    ("path", "items", "errors"),
    [
        (
            "/api/v1/accounts/bulk",
            [{"domain": "ok.com"}, {"domain": "x.com", "employee_count": "5"}],
            [
                {
                    "index": 1,
                    "field": "employee_count",
                    "message": "Expected `int | null`, got `str`",
                }
            ],
        ),
        (
            "/api/v1/contacts/bulk",
            [{"email": "nope"}, {"email": "jo@acme.com", "is_target": True}],
            [
                {"index": 0, "field": "email", "message": "is not a valid email address"},
                {
                    "index": 1,
                    "field": "is_target",
                    "message": "Object contains unknown field `is_target`",
                },
            ],
        ),
        (
            "/api/v1/events/bulk",
            [event("jo@acme.com"), {**event("jo@acme.com"), "occurred_at": "2026-01-01T00:00:00"}],
            [
                {
                    "index": 1,
                    "field": "occurred_at",
                    "message": "Expected `datetime` with a timezone component",
                }
            ],
        ),
        (
            "/api/v1/signals/bulk",
            [{**signal("acme.com"), "type": ""}],
            [
                {
                    "index": 0,
                    "field": "type",
                    "message": "must be letters, digits, '_', '.' or '-' (at most 100)",
                }
            ],
        ),
    ],
)
def test_one_bad_item_is_a_400_naming_it_and_nothing_is_stored(api, path, items, errors):
    response = api.post(path, {"items": items}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        problem(400, f"{len(errors)} invalid item(s): nothing was stored", errors),
    )
    assert (Account.objects.count(), Contact.objects.count(), PendingWork.objects.count()) == (
        0,
        0,
        0,
    )


def test_events_more_than_300_seconds_ahead_are_rejected(api):
    ahead = event("jo@acme.com", at=timezone.now() + timedelta(minutes=10))

    response = api.post("/api/v1/events/bulk", {"items": [ahead]}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "occurred_at"
    assert EngagementEvent.objects.count() == 0


def test_more_than_1000_items_is_a_413(api):
    response = api.post(
        "/api/v1/accounts/bulk",
        {"items": [{"domain": f"a{i}.com"} for i in range(1001)]},
        format="json",
    )

    assert response.status_code == 413
    message = "at most 1000 items per request, got 1001"
    assert response.json() == problem(
        413, f"items: {message}", [{"field": "items", "message": message}]
    )
    assert Account.objects.count() == 0


def test_a_body_over_one_megabyte_is_a_413(api):
    body = json.dumps(
        {"items": [{"domain": "acme.com", "name": "x" * 200, "custom": {"pad": "y" * 1_100_000}}]}
    )

    response = api.generic("POST", "/api/v1/accounts/bulk", body, content_type="application/json")

    assert response.status_code == 413
    assert Account.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ("[]", "items"),
        ('{"items": {}}', "items"),
        ('{"items": [], "extra": 1}', "extra"),
    ],
)
def test_a_malformed_body_is_a_400(api, body, field):
    response = api.generic("POST", "/api/v1/events/bulk", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_exactly_1000_items_are_accepted(api):
    response = api.post(
        "/api/v1/accounts/bulk",
        {"items": [{"domain": f"a{i}.com"} for i in range(1000)]},
        format="json",
    )

    assert (response.status_code, response.json()) == (200, {"created": 1000, "updated": 0})
