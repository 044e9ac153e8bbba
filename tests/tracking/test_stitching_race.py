"""Tracking batches side by side on PostgreSQL (SPEC §9 stitching, issue 18).

A second connection plays another tracking batch, its transaction left open: it holds the
stitching lock shared, as a batch that only ties new ids does, and may have tied an id. A batch
that ties new ids goes on beside it; one that keeps a message pending waits until it commits;
two batches tying the same id meet at its unique key, and the first tie is kept.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from django.db import connection

from contacts.models import Contact, EngagementEvent
from mqa import dispatch
from tests.concurrency import run_while_the_other_commits
from tracking.models import Identity, PendingMessage
from tracking.services import STITCHING_LOCK, tracking_ingest

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def other(second_connection: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch):
    """Another tracking batch in the middle of its transaction: the stitching lock held shared."""
    monkeypatch.setattr(dispatch, "send", lambda task, *args: None)
    second_connection.execute("SELECT pg_advisory_xact_lock_shared(%s)", [STITCHING_LOCK])
    return second_connection


def ingest(*messages: dict[str, Any]) -> dict[str, Any]:
    return tracking_ingest(messages=list(messages), now=NOW).as_dict()


def message(kind: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "messageId": message_id, "timestamp": "2026-12-01T10:00:00Z", **fields}


def identify(message_id: str, user_id: str, email: str) -> dict[str, Any]:
    return message("identify", message_id, userId=user_id, traits={"email": email})


def tie_uncommitted(other: psycopg.Connection[Any], user_id: str, email: str) -> None:
    other.execute(
        f"INSERT INTO {Identity._meta.db_table} (value, kind, email, created_at)"
        " VALUES (%s, 'user', %s, now())",
        [user_id, email],
    )


def test_a_batch_that_ties_new_ids_goes_on_beside_another(other):
    answers: list[dict[str, Any]] = []

    def run() -> None:
        try:
            answers.append(ingest(identify("m1", "u1", "ada@acme.com")))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)  # a batch that waited for the lock would still be waiting: it never ends

    assert not thread.is_alive(), "the batch waited for the other one's lock"
    assert answers == [{"accepted": 1, "duplicates": 0, "conflicts": [], "suppressed": 0}]
    other.rollback()
    assert list(Identity.objects.values_list("value", "email")) == [("u1", "ada@acme.com")]


def test_a_batch_that_keeps_a_message_pending_waits_until_the_other_commits(other):
    answer = run_while_the_other_commits(
        other, lambda: ingest(message("track", "m1", anonymousId="a1", event="Visited"))
    )

    assert answer["accepted"] == 1
    assert list(PendingMessage.objects.values_list("anonymous_id", flat=True)) == ["a1"]


@pytest.mark.parametrize(
    ("tied", "accepted", "conflicts"),
    [
        ("ada@acme.com", 2, []),  # the same email: both ties agree, the batch is kept whole
        # Another email: as if the other batch had come first, the identify naming ada is
        # refused and u1's track goes to eve.
        ("eve@acme.com", 1, [{"index": 0, "id": "m1"}]),
    ],
)
def test_an_id_tied_meanwhile_keeps_that_tie(other, tied, accepted, conflicts):
    tie_uncommitted(other, "u1", tied)

    answer = run_while_the_other_commits(
        other,
        lambda: ingest(
            identify("m1", "u1", "ada@acme.com"),
            message("track", "m2", userId="u1", event="Clicked"),
        ),
    )

    assert (answer["accepted"], answer["conflicts"]) == (accepted, conflicts)
    assert list(Identity.objects.values_list("value", "email")) == [("u1", tied)]
    assert list(Contact.objects.values_list("email", flat=True)) == [tied]
    assert list(EngagementEvent.objects.values_list("contact__email", "type")) == [
        (tied, "clicked")
    ]
