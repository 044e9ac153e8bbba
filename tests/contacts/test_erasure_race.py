"""An ingest racing an erasure of the same address (SPEC §7 *Erasure*, PostgreSQL only).

A second connection plays the erasure: it holds the erasure lock exclusively and has put the
address on the suppression list, not yet committed. An ingest for the address waits for it,
then finds the address suppressed: nothing is stored after the erasure committed.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from contacts.models import Contact, EngagementEvent, SuppressedEmail
from contacts.services import events_ingest
from contacts.suppression import ERASURE_LOCK, email_digest
from mqa import dispatch
from tests.concurrency import run_while_the_other_commits
from tests.factories import event

pytestmark = pytest.mark.django_db(transaction=True)


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
    answer = run_while_the_other_commits(
        other, lambda: events_ingest(items=[event("jo@acme.com"), event("al@acme.com")])
    )
    assert (answer.accepted, answer.suppressed) == (1, 1)
    assert list(Contact.objects.values_list("email", flat=True)) == ["al@acme.com"]
    assert EngagementEvent.objects.count() == 1
