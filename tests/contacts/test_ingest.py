from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from contacts.erasure import contacts_erase
from contacts.models import Contact, EngagementEvent
from contacts.services import contacts_upsert, events_ingest
from mqa.batch import BatchError
from mqa.models import ContactScore, PendingWork
from tests.factories import event, pricing_view

pytestmark = pytest.mark.django_db


def test_an_event_for_an_unknown_email_creates_the_contact_and_marks_it_stale():
    result = events_ingest(items=[event(" Jo@Acme.COM ", "Demo_Request", id="e1")])

    assert result.as_dict() == {"accepted": 1, "duplicates": 0, "conflicts": [], "suppressed": 0}
    contact = Contact.objects.get()
    stored = EngagementEvent.objects.get()
    assert (contact.email, contact.email_domain) == ("jo@acme.com", "acme.com")
    assert (stored.contact_id, stored.type, stored.source, stored.external_id) == (
        contact.id,
        "demo_request",
        "api",
        "e1",
    )
    assert ContactScore.objects.get(contact=contact).status == "none"
    assert list(PendingWork.objects.values_list("kind", "object_id")) == [("contact", contact.id)]


def test_resending_an_event_is_a_duplicate_and_a_changed_payload_a_conflict():
    at = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    original = pricing_view("jo@acme.com", at=at, id="e1")
    events_ingest(items=[original], now=at)

    same_instant_other_zone = {**original, "occurred_at": "2026-01-05T13:00:00+01:00"}
    result = events_ingest(
        items=[
            same_instant_other_zone,
            {**original, "properties": {"url": "/other"}},
            {**original, "email": "al@acme.com"},
            event("jo@acme.com", id="e1", source="crm", at=at),
        ],
        now=at,
    )

    assert result.as_dict() == {
        "accepted": 1,
        "duplicates": 1,
        "conflicts": [{"index": 1, "id": "e1"}, {"index": 2, "id": "e1"}],
        "suppressed": 0,
    }
    assert EngagementEvent.objects.get(source="api").properties == {"url": "https://x.io/pricing"}
    assert EngagementEvent.objects.count() == 2


def test_within_one_batch_the_first_of_two_conflicting_events_wins():
    first = event("jo@acme.com", id="e1")

    result = events_ingest(items=[first, first, {**first, "type": "webinar"}])

    assert result.as_dict() == {
        "accepted": 1,
        "duplicates": 1,
        "conflicts": [{"index": 2, "id": "e1"}],
        "suppressed": 0,
    }
    assert EngagementEvent.objects.get().type == "demo_request"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": "2026-01-05T12:00:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"email": "no-at-sign"}, "email"),
        ({"type": "page view!"}, "type"),
        ({"id": ""}, "id"),
        ({"id": 7}, "id"),
        ({"source": "  "}, "source"),
        ({"properties": ["url"]}, "properties"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_event_rejects_the_batch_and_stores_nothing(change, field):
    items = [event("ok@acme.com"), {**event("jo@acme.com"), **change}]

    with pytest.raises(BatchError) as raised:
        events_ingest(items=items)

    assert [(e.index, e.field) for e in raised.value.errors] == [(1, field)]
    assert (
        Contact.objects.count(),
        EngagementEvent.objects.count(),
        PendingWork.objects.count(),
    ) == (0, 0, 0)


def test_events_more_than_300_seconds_in_the_future_are_rejected():
    now = timezone.now()
    ok = event("jo@acme.com", at=now + timedelta(seconds=300))
    late = event("jo@acme.com", at=now + timedelta(seconds=301))

    with pytest.raises(BatchError) as raised:
        events_ingest(items=[ok, late], now=now)

    assert [(e.index, e.field, e.message) for e in raised.value.errors] == [
        (1, "occurred_at", "is more than 300 seconds in the future")
    ]
    assert events_ingest(items=[ok], now=now).accepted == 1


def test_contact_upserts_normalise_and_are_partial():
    contacts_upsert(
        items=[{"email": "Jo@Acme.com", "title": " CTO ", "buying_role": " Decision_Maker "}]
    )
    contacts_upsert(items=[{"email": "jo@acme.com", "seniority": "vp", "buying_role": "  "}])

    contact = Contact.objects.get()
    assert (contact.title, contact.seniority, contact.buying_role) == ("CTO", "vp", None)


def test_a_bad_contact_rejects_the_batch():
    with pytest.raises(BatchError) as raised:
        contacts_upsert(items=[{"email": "jo@acme.com"}, {"email": "al@acme.com", "custom": "x"}])

    assert [(e.index, e.field) for e in raised.value.errors] == [(1, "custom")]
    assert Contact.objects.count() == 0


def test_timestamps_with_offsets_postgresql_refuses_are_stored_in_utc():
    events_ingest(
        items=[
            event("jo@acme.com", at=datetime(2026, 1, 5, 12, 0, tzinfo=UTC), id="e1")
            | {"occurred_at": "2026-01-05T00:00:00-18:31"}
        ],
        now=datetime(2026, 2, 1, tzinfo=UTC),
    )

    assert EngagementEvent.objects.get().occurred_at == datetime(2026, 1, 5, 18, 31, tzinfo=UTC)


def test_true_is_not_1_when_comparing_payloads_and_fields():
    first = event("jo@acme.com", id="e1", properties={"flag": 1})
    events_ingest(items=[first])

    result = events_ingest(items=[{**first, "properties": {"flag": True}}])

    assert result.as_dict() == {
        "accepted": 0,
        "duplicates": 0,
        "conflicts": [{"index": 0, "id": "e1"}],
        "suppressed": 0,
    }
    contacts_upsert(items=[{"email": "jo@acme.com", "custom": {"vip": 1}}])
    contacts_upsert(items=[{"email": "jo@acme.com", "custom": {"vip": True}}])
    assert Contact.objects.get().custom == {"vip": True}


def test_properties_in_another_key_order_are_the_same_payload_but_1_0_is_not_1():
    first = event("jo@acme.com", id="e1", properties={"a": 1, "b": {"x": "y", "n": 2.5}})
    events_ingest(items=[first])

    result = events_ingest(
        items=[
            {**first, "properties": {"b": {"n": 2.5, "x": "y"}, "a": 1}},
            {**first, "properties": {"a": 1.0, "b": {"x": "y", "n": 2.5}}},
        ]
    )

    assert result.as_dict() == {
        "accepted": 0,
        "duplicates": 1,
        "conflicts": [{"index": 1, "id": "e1"}],
        "suppressed": 0,
    }
    assert EngagementEvent.objects.get().properties == {"a": 1, "b": {"x": "y", "n": 2.5}}


def test_a_batch_stores_only_its_own_items_when_an_earlier_one_ran_in_the_same_transaction():
    at = timezone.now() - timedelta(hours=1)
    with transaction.atomic():
        first = events_ingest(
            items=[event("jo@acme.com", id="e1", at=at), event("al@acme.com", id="e2", at=at)]
        )
        contacts_erase(emails=["al@acme.com"], actor="test")
        second = events_ingest(
            items=[event("jo@acme.com", id="e1", at=at), event("jo@acme.com", id="e3", at=at)]
        )

    assert (first.accepted, first.duplicates) == (2, 0)
    assert (second.accepted, second.duplicates, second.conflicts) == (1, 1, [])
    # The erased contact's event is not stored again by the later batch.
    assert sorted(EngagementEvent.objects.values_list("external_id", flat=True)) == ["e1", "e3"]
