"""Two clients sending the same event ids at the same moment (SPEC §5): the answer says what
the insert stored, not what the batch offered.

A second PostgreSQL connection plays the other client: it stores the event after our ingest
read the table (its transaction is open, so the read cannot see it) and commits while our
insert waits on its row. Without the insert reporting what it stored, ours says "accepted"
for a row it never stored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction

from contacts.models import Contact, EngagementEvent
from contacts.services import contacts_upsert, events_ingest
from mqa import dispatch
from mqa.ingest import IngestResult
from mqa.models import PendingWork, RecordKind
from tests.concurrency import run_while_the_other_commits
from tests.factories import event

pytestmark = pytest.mark.django_db(transaction=True)

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def other_client(
    second_connection: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> psycopg.Connection[Any]:
    monkeypatch.setattr(dispatch, "send", lambda task, *args: None)  # the work rows stay
    return second_connection


def _store_uncommitted(other: psycopg.Connection[Any], contact_id: int, type_: str) -> None:
    table = EngagementEvent._meta.db_table
    other.execute(
        f"INSERT INTO {table} (contact_id, type, occurred_at, properties, source, external_id,"
        " received_at) VALUES (%s, %s, %s, %s, 'api', 'e1', now())",
        [contact_id, type_, AT, json.dumps({})],
    )


def _ingest_while_the_other_commits(
    other: psycopg.Connection[Any], items: list[dict[str, Any]]
) -> IngestResult:
    # Our insert waits on the other client's row until that client commits.
    return run_while_the_other_commits(other, lambda: events_ingest(items=items, now=AT))


def _contacts() -> tuple[int, int]:
    contacts_upsert(items=[{"email": "jo@acme.com"}, {"email": "al@acme.com"}])
    PendingWork.objects.all().delete()
    ids = dict(Contact.objects.values_list("email", "id"))
    return ids["jo@acme.com"], ids["al@acme.com"]


def test_an_event_a_concurrent_client_stored_first_with_another_payload_is_a_conflict(
    other_client: psycopg.Connection[Any],
):
    jo, al = _contacts()
    _store_uncommitted(other_client, jo, "webinar")

    result = _ingest_while_the_other_commits(
        other_client,
        [
            event("jo@acme.com", "demo_request", id="e1", at=AT),
            event("al@acme.com", "demo_request", id="e2", at=AT),
            event("jo@acme.com", "demo_request", id="e1", at=AT),
        ],
    )

    assert result.as_dict() == {
        "accepted": 1,
        "duplicates": 0,
        "conflicts": [{"index": 0, "id": "e1"}, {"index": 2, "id": "e1"}],
        "suppressed": 0,
    }
    assert sorted(EngagementEvent.objects.values_list("external_id", "contact_id", "type")) == [
        ("e1", jo, "webinar"),
        ("e2", al, "demo_request"),
    ]
    # Only the owner of the row this ingest stored is marked stale by it.
    assert list(PendingWork.objects.values_list("kind", "object_id")) == [(RecordKind.CONTACT, al)]


def test_an_event_a_concurrent_client_stored_first_with_the_same_payload_is_a_duplicate(
    other_client: psycopg.Connection[Any],
):
    jo, al = _contacts()
    _store_uncommitted(other_client, jo, "demo_request")

    result = _ingest_while_the_other_commits(
        other_client,
        [
            event("jo@acme.com", "demo_request", id="e1", at=AT),
            event("al@acme.com", "demo_request", id="e2", at=AT),
        ],
    )

    assert result.as_dict() == {"accepted": 1, "duplicates": 1, "conflicts": [], "suppressed": 0}
    assert EngagementEvent.objects.count() == 2
    assert list(PendingWork.objects.values_list("kind", "object_id")) == [(RecordKind.CONTACT, al)]


def _contact_uncommitted(other: psycopg.Connection[Any], email: str) -> int:
    """The other client creates a contact and has not committed yet; its id."""
    row = Contact(email=email, email_domain=email.split("@")[1])
    fields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f.column for f in fields)
    values = [f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    created = other.execute(
        f"INSERT INTO {Contact._meta.db_table} ({columns}) VALUES ({placeholders}) RETURNING id",
        values,
    ).fetchone()
    assert created is not None
    return int(created[0])


def test_an_event_for_a_contact_a_concurrent_client_is_creating_joins_that_contact(
    other_client: psycopg.Connection[Any],
):
    new = _contact_uncommitted(other_client, "new@acme.com")

    result = _ingest_while_the_other_commits(
        other_client, [event("new@acme.com", "demo_request", id="e1", at=AT)]
    )

    assert result.as_dict() == {"accepted": 1, "duplicates": 0, "conflicts": [], "suppressed": 0}
    assert list(Contact.objects.values_list("id", "email")) == [(new, "new@acme.com")]
    assert list(EngagementEvent.objects.values_list("contact_id", "external_id")) == [(new, "e1")]


def test_an_open_contact_update_does_not_hold_up_a_concurrent_event_for_that_contact(
    other_client: psycopg.Connection[Any],
):
    jo, _ = _contacts()
    with transaction.atomic():
        contacts_upsert(items=[{"email": "jo@acme.com", "title": "VP Sales"}])  # not committed
        # Another ingest stores an event of jo: its foreign-key check needs a key-share lock
        # on jo's row, which the update must not block (it deadlocked with work rows).
        other_client.execute("SET lock_timeout = '2s'")
        _store_uncommitted(other_client, jo, "webinar")
        other_client.commit()

    assert list(EngagementEvent.objects.values_list("contact_id", "type")) == [(jo, "webinar")]
    assert Contact.objects.get(pk=jo).title == "VP Sales"
