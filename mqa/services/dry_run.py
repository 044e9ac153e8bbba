"""Scoring with the pure engine, storing nothing: what a preview and a calibration backtest run.

Records are read in primary-key chunks (`MQA_RESCORE_CHUNK`), so one chunk of records and their
activities is in memory at a time; callers keep what they need of each result. With `before`,
only activities that occurred strictly before it are read (a backtest's cut-off).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import Account
from contacts.models import Contact
from mqa.scoring import CommitteeMember
from mqa.scoring.types import AccountResult, ContactResult, ScoringModel
from mqa.services.facts import accounts_results, contacts_results


def pk_chunks(queryset: QuerySet, size: int) -> Iterator[list[int]]:
    """The primary keys of `queryset`, ascending, `size` at a time."""
    last = 0
    while ids := list(
        queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size]
    ):
        yield ids
        last = ids[-1]


def contacts_scored(
    model: ScoringModel,
    contacts: QuerySet[Contact],
    now: datetime,
    *,
    before: datetime | None = None,
) -> Iterator[tuple[Contact, ContactResult]]:
    """Each contact (with its account and stored score loaded) and its result at `now`."""
    for ids in pk_chunks(contacts, settings.MQA_RESCORE_CHUNK):
        yield from contacts_results(model, ids, now, before=before)


def committee_member(contact: Contact, result: ContactResult) -> CommitteeMember:
    return CommitteeMember(contact.email, contact.buying_role, result.status, result.engagement)


def accounts_scored(
    model: ScoringModel,
    accounts: QuerySet[Account],
    committees: Mapping[int, Sequence[CommitteeMember]],
    now: datetime,
    *,
    before: datetime | None = None,
) -> Iterator[tuple[Account, AccountResult]]:
    """Each account (with its stored score loaded) and its rollup of `committees` at `now`."""
    for ids in pk_chunks(accounts, settings.MQA_RESCORE_CHUNK):
        yield from accounts_results(model, ids, committees, now, before=before)
