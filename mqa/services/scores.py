"""The scoring step: rescore records through the store for the database in use.

`scores_recompute` is the one write path for scores: contacts first, then their accounts
(and any accounts named directly), in one transaction, returning the status changes it made
for the caller to announce (`mqa.services.announce`) in the same transaction. Running it
twice, out of order or concurrently leaves the same state (SPEC §5).

Step layer: imports the stores; never announces, never sends tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction

from contacts.models import Contact
from mqa.models import RecordKind
from mqa.selectors import ActiveModel
from mqa.services.stores import Scope, Store, Transition, records, sql


def store_in_use() -> Store:
    """The set-based store on PostgreSQL, the record-by-record one elsewhere (SQLite)."""
    return sql.STORE if connection.vendor == "postgresql" else records.STORE


def scores_recompute(
    *,
    contact_ids: Iterable[int],
    account_ids: Iterable[int],
    active: ActiveModel,
    now: datetime,
    cause: str,
) -> list[Transition]:
    """Rescore contacts, then roll up their accounts and the accounts named directly."""
    store = store_in_use()
    contacts, accounts = sorted(set(contact_ids)), set(account_ids)
    changes: list[Transition] = []
    with transaction.atomic():
        if contacts:
            changes += store.contacts(scope=Scope.of(contacts), active=active, now=now, cause=cause)
            accounts |= set(
                Contact.objects.filter(id__in=contacts, account_id__isnull=False).values_list(
                    "account_id", flat=True
                )
            )
        if accounts:
            changes += store.accounts(scope=Scope.of(accounts), active=active, now=now, cause=cause)
    return changes


def scores_recompute_range(
    *, kind: RecordKind, lo: int, hi: int, active: ActiveModel, now: datetime, cause: str
) -> list[Transition]:
    """Rescore the contacts (or accounts) `lo < id <= hi`: one chunk of a full rescore.

    Rows that come out as stored under the same model are left alone (a chunk redone).
    """
    store = store_in_use()
    write = store.contacts if kind == RecordKind.CONTACT else store.accounts
    return write(
        scope=Scope.between(lo, hi), active=active, now=now, cause=cause, skip_unchanged=True
    )
