"""The suppression list of erased addresses (SPEC §7 *Erasure*).

An address is kept only as a keyed hash: HMAC-SHA256, keyed with `settings.SECRET_KEY`, of the
email as contacts normalise it (trimmed, lower-cased). Whoever reads the table cannot tell
which addresses it holds without the server's secret; rotating the secret empties the list in
effect (the old hashes no longer match).

Erasure and ingest exclude each other on PostgreSQL through one transaction-level advisory
lock: every ingest that may create contacts holds it shared, an erasure holds it exclusively.
So an ingest either commits before an erasure starts (and the erasure deletes what it stored)
or checks the list after the erasure committed (and stores nothing for the address). SQLite
has one writer at a time, which gives the same order.

Store layer: imports the tables only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings
from django.db import connection

from contacts.models import SuppressedEmail

# An arbitrary 64-bit key naming this lock among the database's advisory locks.
ERASURE_LOCK = 0x6D71615F65726173  # "mqa_eras"


def email_digest(email: str) -> str:
    """The hex HMAC-SHA256 of an already normalised email, keyed with the server's secret."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()


def emails_suppressed(*, emails: Iterable[str]) -> set[str]:
    """Which of these (normalised) emails are on the suppression list."""
    by_digest = {email_digest(email): email for email in set(emails)}
    if not by_digest:
        return set()
    found = SuppressedEmail.objects.filter(digest__any=list(by_digest)).values_list(
        "digest", flat=True
    )
    return {by_digest[digest] for digest in found}


def suppression_lock(*, exclusive: bool = False) -> None:
    """Take the ingest/erasure lock until the current transaction ends (PostgreSQL only).

    Call it first in the transaction, before any row lock, so that it is never waited for
    while holding one.
    """
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [ERASURE_LOCK])


def emails_suppress(*, emails: Iterable[str]) -> None:
    """Put these (normalised) emails on the list; ones already on it stay as they are."""
    SuppressedEmail.objects.bulk_create(
        [SuppressedEmail(digest=email_digest(email)) for email in sorted(set(emails))],
        ignore_conflicts=True,
        batch_size=1000,
    )
