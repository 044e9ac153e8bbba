"""Tracking-API ingest (SPEC §9): messages stitched to emails, then stored through the same
services as the bulk endpoints (accounts, contacts, events), in one transaction.

1. Every message is validated first (`tracking.messages`): one invalid → nothing stored.
2. A `messageId` seen before is a duplicate (same payload digest) or a conflict (another);
   so is a second message with the same id in one batch.
3. Identity, in message order: an explicit email ties the message's `userId` and
   `anonymousId` to it (the first tie of an id is kept; a *different* email for a tied
   `userId` is a conflict and nothing of the message is stored); a message without one takes
   the email tied to its `userId`, else its `anonymousId`; `alias` ties `previousId` and
   `userId` together. A message still without an email is kept pending and applied, in order,
   as soon as a later message ties one of its ids — in this batch or a later one.
4. A message for a suppressed (erased) address stores nothing and counts as `suppressed`.
5. `group` upserts its account at once; identify traits and the group link upsert the contact
   (its `custom` merged key by key, as Segment merges traits); track, page and screen become
   events with source `segment` and the `messageId` as id.

Stitching is serialised where it must be, by a transaction-level advisory lock on PostgreSQL.
A batch that only ties new ids to emails (an identify, a first track with an email) and uses
stored ties takes it shared: such batches run side by side, and two that tie the same id meet
at the tie's unique key — the later insert waits for the earlier to commit, and is kept if it
names the same email, else the batch runs again holding the lock alone. A batch that keeps a
message pending, or resolves stored pending ones, runs again holding it alone too: a pending
message and the tie that resolves it are never committed side by side unseen. The bulk
endpoints do not take the lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from msgspec.structs import replace

from accounts.services import accounts_upsert
from contacts.schemas import EventIn, event_cleaner
from contacts.services import contacts_upsert, events_store
from contacts.suppression import emails_suppressed, suppression_lock
from mqa.batch import validate_batch
from mqa.ingest import IngestResult, rows_insert
from tracking.messages import SOURCE, Message, messages_parse
from tracking.models import Identity, IdentityKind, PendingMessage, TrackedMessage

# An arbitrary 64-bit key naming this lock among the database's advisory locks.
STITCHING_LOCK = 0x6D71615F74726B73  # "mqa_trks"


@dataclass
class _Work:
    """A message to apply once it has an email: one of this batch, or a stored pending one."""

    type: str
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    contact: dict[str, Any] | None
    event: dict[str, Any] | None
    message_id: str
    index: int | None = None  # its place in this request; None for a stored pending one
    email: str | None = None
    stored: TrackedMessage | None = None
    event_in: EventIn | None = None  # checked when read in this request (`Message.event_in`)


class _Ties:
    """userId/anonymousId → email: those stored, and the ones this batch adds."""

    def __init__(self, ids: Iterable[str]) -> None:
        rows = Identity.objects.filter(value__any=list(set(ids))).values_list(
            "value", "kind", "email"
        )
        self.known: dict[str, tuple[str, str]] = {v: (k, e) for v, k, e in rows}
        self.new: dict[str, tuple[str, str]] = {}

    def email_of(self, *ids: str | None) -> str | None:
        return next((self.known[i][1] for i in ids if i in self.known), None)

    def tie(self, value: str | None, kind: str, email: str) -> None:
        if value is not None and value not in self.known:
            self.known[value] = self.new[value] = (kind, email)

    def fetch(self, ids: Iterable[str]) -> None:
        wanted = set(ids) - self.known.keys()
        rows = Identity.objects.filter(value__any=list(wanted)).values_list(
            "value", "kind", "email"
        )
        self.known.update({v: (k, e) for v, k, e in rows})


class _Exclusive(Exception):
    """The batch must stitch holding the lock alone: it keeps or resolves a pending message,
    or a concurrent batch tied one of its new ids to another email."""


def tracking_ingest(
    *, messages: list[Any], sent_at: Any = None, context: Any = None, now: datetime | None = None
) -> IngestResult:
    now = now or timezone.now()
    parsed = messages_parse(messages, now=now, sent_at=sent_at, context=context)
    # SQLite has one writer at a time: every batch is alone there.
    try:
        return _ingest(parsed, now, alone=connection.vendor != "postgresql")
    except _Exclusive:  # nothing of the first try was stored
        return _ingest(parsed, now, alone=True)


def _ingest(parsed: list[Message], now: datetime, *, alone: bool) -> IngestResult:
    result = IngestResult()
    with transaction.atomic():
        suppression_lock()  # first: an erasure excludes this whole transaction
        _stitching_lock(exclusive=alone)
        fresh = _fresh(parsed, result)
        ties = _Ties(i for m in fresh for i in (m.user_id, m.anonymous_id, m.previous_id) if i)
        work = []
        for message in fresh:
            item = _work_of(message)
            if message.email is not None and _conflicts(message, ties):
                result.conflicts.append({"index": message.index, "id": message.message_id})
                continue
            _resolve(item, ties, explicit=message.email)
            work.append(item)
        resolved_stored = _resolve_pending(work, ties, alone=alone)
        if not alone and any(w.email is None for w in work):
            raise _Exclusive("a message is kept pending")
        suppressed = emails_suppressed(
            emails={w.email for w in [*work, *resolved_stored] if w.email is not None}
        )
        kept = [w for w in work if w.email not in suppressed]
        result.suppressed = len(work) - len(kept)
        _store(kept, fresh, ties, suppressed, resolved_stored, now, alone=alone)
        by_index = {m.index: m for m in fresh}
        accounts = [by_index[w.index].account for w in kept if w.index is not None]
        _apply(
            accounts=[a for a in accounts if a is not None],
            work=[w for w in resolved_stored if w.email not in suppressed]
            + [w for w in kept if w.email is not None],
            result=result,
        )
        result.accepted = len(kept) - sum(1 for c in result.conflicts if c.get("event"))
    for conflict in result.conflicts:
        conflict.pop("event", None)
    result.conflicts.sort(key=lambda c: c["index"])
    return result


def _stitching_lock(*, exclusive: bool) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time already
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [STITCHING_LOCK])


def _fresh(parsed: list[Message], result: IngestResult) -> list[Message]:
    """The messages whose `messageId` is new; the others counted as duplicates or conflicts."""
    stored = dict(
        TrackedMessage.objects.filter(
            message_id__any=list({m.message_id for m in parsed})
        ).values_list("message_id", "digest")
    )
    fresh = []
    for message in parsed:
        digest = stored.get(message.message_id)
        if digest is None:
            stored[message.message_id] = message.digest
            fresh.append(message)
        elif digest == message.digest:
            result.duplicates += 1
        else:
            result.conflicts.append({"index": message.index, "id": message.message_id})
    return fresh


def _work_of(message: Message) -> _Work:
    return _Work(
        type=message.type,
        user_id=message.user_id,
        anonymous_id=message.anonymous_id,
        previous_id=message.previous_id,
        contact=message.contact,
        event=message.event,
        message_id=message.message_id,
        index=message.index,
        event_in=message.event_in,
    )


def _conflicts(message: Message, ties: _Ties) -> bool:
    """A different email for a `userId` already tied to one (SPEC §9: the first tie is kept)."""
    known = ties.known.get(message.user_id or "")
    return known is not None and known[0] == IdentityKind.USER and known[1] != message.email


def _resolve(work: _Work, ties: _Ties, *, explicit: str | None = None) -> bool:
    """Give `work` its email if it can have one now, tying its ids to it; True if it did."""
    if work.email is not None:
        return False
    if work.type == "alias":
        email = ties.email_of(work.user_id, work.previous_id)
        if email is not None:
            ties.tie(work.user_id, IdentityKind.USER, email)
            ties.tie(work.previous_id, IdentityKind.ANONYMOUS, email)
    else:
        email = explicit or ties.email_of(work.user_id, work.anonymous_id)
        if email is not None:
            ties.tie(work.user_id, IdentityKind.USER, email)
            ties.tie(work.anonymous_id, IdentityKind.ANONYMOUS, email)
    work.email = email
    return email is not None


def _resolve_pending(work: list[_Work], ties: _Ties, *, alone: bool) -> list[_Work]:
    """Resolve what waits for the ids this batch tied: its own earlier messages and stored
    pending ones, until no new tie appears. Returns the stored ones resolved, oldest first.
    Stored pending messages are resolved only by a batch `alone` (else `_Exclusive`)."""
    resolved: list[_Work] = []
    looked_up: set[str] = set()
    while True:
        waiting = [w for w in work if w.email is None]
        while any(_resolve(w, ties) for w in waiting):
            waiting = [w for w in waiting if w.email is None]
        frontier = ties.new.keys() - looked_up
        if not frontier:
            return resolved
        looked_up |= frontier
        rows = (
            PendingMessage.objects.select_for_update()
            .select_related("message")
            .filter(
                Q(user_id__in=frontier) | Q(anonymous_id__in=frontier) | Q(previous_id__in=frontier)
            )
            .exclude(pk__in=[w.stored.pk for w in resolved if w.stored is not None])
            .order_by("pk")
        )
        stored = [_pending_work(row) for row in rows]
        if stored and not alone:
            raise _Exclusive("stored pending messages wait for this batch's ties")
        ties.fetch(i for w in stored for i in (w.user_id, w.anonymous_id, w.previous_id) if i)
        for item in stored:
            if _resolve(item, ties):
                resolved.append(item)
        # A stored alias resolved may tie ids whose stored pending messages wait in turn.


def _pending_work(row: PendingMessage) -> _Work:
    return _Work(
        type=row.type,
        user_id=row.user_id,
        anonymous_id=row.anonymous_id,
        previous_id=row.previous_id,
        contact=row.content.get("contact"),
        event=row.content.get("event"),
        message_id=row.message.message_id,
        stored=row.message,
    )


def _store(
    kept: list[_Work],
    fresh: list[Message],
    ties: _Ties,
    suppressed: set[str],
    resolved_stored: list[_Work],
    now: datetime,
    *,
    alone: bool,
) -> None:
    """Record the batch's new ties, its messages (pending ones with what they will apply) and
    the stored pending messages now resolved; nothing for a suppressed address."""
    _ties_store(
        {value: tie for value, tie in ties.new.items() if tie[1] not in suppressed}, alone=alone
    )
    digests = {m.message_id: m.digest for m in fresh}
    ids = rows_insert(
        TrackedMessage,
        ("message_id", "digest", "email", "received_at"),
        [(w.message_id, digests[w.message_id], w.email, now) for w in kept],
    )
    PendingMessage.objects.bulk_create(
        [
            PendingMessage(
                message_id=message_id,
                type=w.type,
                user_id=w.user_id,
                anonymous_id=w.anonymous_id,
                previous_id=w.previous_id,
                content={"contact": w.contact, "event": w.event},
            )
            for w, message_id in zip(kept, ids, strict=True)
            if w.email is None
        ],
        batch_size=1000,
    )
    done = [w.stored.pk for w in resolved_stored if w.stored is not None]
    PendingMessage.objects.filter(pk__in=done).delete()
    for w in resolved_stored:
        assert w.stored is not None
        if w.email in suppressed:  # erased meanwhile: nothing of it is kept
            TrackedMessage.objects.filter(pk=w.stored.pk).delete()
        else:
            TrackedMessage.objects.filter(pk=w.stored.pk).update(email=w.email)


def _ties_store(new: dict[str, tuple[str, str]], *, alone: bool) -> None:
    """Store new ties, in the order of their values (two batches tying the same ids wait for
    each other in one order, never in a circle). Beside a concurrent batch, an id it tied first
    is kept when it names the same email, as ours would have; another email means this batch
    must be stitched again, alone (`_Exclusive`)."""
    if not new:
        return
    values = sorted(new)
    if connection.vendor != "postgresql":
        Identity.objects.bulk_create(
            [Identity(value=v, kind=new[v][0], email=new[v][1]) for v in values],
            batch_size=1000,
            ignore_conflicts=True,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Identity._meta.db_table} (value, kind, email, created_at)
                SELECT v, k, e, now() FROM unnest(%s::text[], %s::text[], %s::text[])
                  WITH ORDINALITY AS t(v, k, e, n) ORDER BY n
                ON CONFLICT (value) DO NOTHING RETURNING value""",
            [values, [new[v][0] for v in values], [new[v][1] for v in values]],
        )
        taken = set(values) - {row[0] for row in cursor.fetchall()}
    if not taken or alone:  # alone, nobody tied them meanwhile: the first tie is kept
        return
    rows = Identity.objects.filter(value__any=list(taken)).values_list("value", "kind", "email")
    if any(new[value] != (kind, email) for value, kind, email in rows):
        raise _Exclusive("a concurrent batch tied one of these ids to another email")


def _apply(*, accounts: list[dict[str, Any]], work: list[_Work], result: IngestResult) -> None:
    """Upsert accounts, then contacts, then store events: what the messages map to."""
    if accounts:
        accounts_upsert(items=accounts, merge_custom=True)
    contacts: dict[str, dict[str, Any]] = {}
    for w in work:
        if w.contact is not None and w.email is not None:
            fields = contacts.setdefault(w.email, {"email": w.email})
            custom = {**fields.get("custom", {}), **(w.contact.get("custom") or {})}
            fields.update(w.contact)
            if custom:
                fields["custom"] = custom
    if contacts:
        contacts_upsert(items=list(contacts.values()), merge_custom=True)
    events = [w for w in work if w.event is not None and w.email is not None]
    if not events:
        return
    # Stored pending messages' events are checked again, as of now, in one batch; the others
    # were read and checked with their messages in this request.
    rechecked = iter(
        validate_batch(
            [
                {**w.event, "email": w.email, "id": w.message_id, "source": SOURCE}
                for w in events
                if w.event_in is None and w.event is not None
            ],
            EventIn,
            event_cleaner(timezone.now()),
        )
    )
    ingested = events_store(
        events=[
            replace(w.event_in, email=w.email, id=w.message_id, source=SOURCE)
            if w.event_in is not None
            else next(rechecked)
            for w in events
        ]
    )
    for conflict in ingested.conflicts:
        # The id was stored by the bulk endpoint (source `segment`) with another payload.
        index = events[conflict["index"]].index
        if index is not None:
            result.conflicts.append({"index": index, "id": conflict["id"], "event": True})
