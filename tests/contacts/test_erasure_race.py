"""An ingest racing an erasure of the same address (SPEC §7 *Erasure*, PostgreSQL only).

A second connection plays the erasure: it holds the erasure lock exclusively and has put the
address on the suppression list, not yet committed. An ingest for the address waits for it,
then finds the address suppressed: nothing is stored after the erasure committed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from django.db import connection

from contacts.models import Contact, EngagementEvent, SuppressedEmail
from contacts.services import events_ingest
from contacts.suppression import ERASURE_LOCK, email_digest
from mqa import dispatch
from mqa.ingest import IngestResult
from tests.factories import event

pytestmark = pytest.mark.django_db(transaction=True)


def _waits_on_a_lock(other: psycopg.Connection[Any]) -> bool:
    with psycopg.connect(other.info.dsn, password=other.info.password, autocommit=True) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


def test_an_ingest_during_an_erasure_waits_and_stores_nothing_for_the_address(
    second_connection: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(dispatch, "send", lambda task, *args: None)
    other = second_connection
    other.execute("SELECT pg_advisory_xact_lock(%s)", [ERASURE_LOCK])
    other.execute(
        f"INSERT INTO {SuppressedEmail._meta.db_table} (digest, created_at) VALUES (%s, now())",
        [email_digest("jo@acme.com")],
    )
    answers: list[IngestResult] = []

    def ingest() -> None:
        try:
            answers.append(events_ingest(items=[event("jo@acme.com"), event("al@acme.com")]))
        finally:
            connection.close()

    thread = threading.Thread(target=ingest)
    thread.start()
    deadline = time.monotonic() + 10
    while not _waits_on_a_lock(other):
        assert thread.is_alive(), "the ingest finished without waiting for the erasure"
        assert time.monotonic() < deadline, "the ingest never waited for the erasure"
        time.sleep(0.01)
    other.commit()
    thread.join(10)

    (answer,) = answers
    assert (answer.accepted, answer.suppressed) == (1, 1)
    assert list(Contact.objects.values_list("email", flat=True)) == ["al@acme.com"]
    assert EngagementEvent.objects.count() == 1
