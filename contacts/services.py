"""Contact upserts and engagement-event ingest (SPEC §2, §5, §7).

Each call validates the whole batch first (nothing is stored if any item is invalid), then
writes data and the durable record of the rescoring it causes in one transaction. An event for
an unknown email creates that contact. Items for an erased address (the suppression list,
SPEC §7 *Erasure*) are not stored; the answer counts them as `suppressed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.services import link_changes_mark_stale
from contacts.links import contacts_link
from contacts.models import Contact, EngagementEvent
from contacts.schemas import ContactIn, EventIn, clean_contact, event_cleaner
from contacts.suppression import emails_suppressed, suppression_lock
from mqa.batch import merge_by_key, set_fields, validate_batch
from mqa.ingest import (
    ContactUpsertResult,
    IngestResult,
    apply_changes,
    custom_merge,
    ingest_once,
    insert_new,
)
from mqa.models import ContactScore, RecordKind
from mqa.scoring.normalize import email_domain
from mqa.services.work_queue import work_add


def _contacts_create(fields_by_email: dict[str, dict[str, Any]], now: datetime) -> list[Contact]:
    """Create the contacts no concurrent request created first; returns the ones created here.

    A concurrent request creating the same new contact makes this insert wait for it and then
    skip the row (`insert_new`), instead of failing the whole batch on the unique email.
    """
    rows = [
        Contact(email=email, email_domain=email_domain(email), **fields)
        for email, fields in sorted(fields_by_email.items())
    ]
    ids = insert_new(Contact, rows, unique=("email",))
    created = []
    for row in rows:
        if (row.email,) in ids:
            row.pk, row._state.adding = ids[(row.email,)], False
            created.append(row)
    ContactScore.objects.bulk_create(
        [ContactScore(contact_id=c.id, status_since=now) for c in created], batch_size=1000
    )
    return created


def _locked(emails: Iterable[str]) -> dict[str, Contact]:
    """The contacts with these emails, locked in key order FOR NO KEY UPDATE, like the update
    itself: that does not block the foreign-key checks of a concurrent event ingest, which
    would otherwise wait on them while holding work rows this transaction waits for (a
    deadlock)."""
    rows = Contact.objects.select_for_update(no_key=True).filter(email__any=list(emails))
    return {c.email: c for c in rows.order_by("pk")}


def contacts_upsert(*, items: Iterable[Any], merge_custom: bool = False) -> ContactUpsertResult:
    """Partial upserts by email. With `merge_custom`, an item's `custom` keys are set on the
    stored ones instead of replacing them (Tracking-API traits, SPEC §9)."""
    valid = validate_batch(items, ContactIn, clean_contact)
    now = timezone.now()
    with transaction.atomic():
        suppression_lock()
        suppressed = emails_suppressed(emails=(item.email for item in valid))
        kept = [item for item in valid if item.email not in suppressed]
        merged = merge_by_key((item.email, set_fields(item, ("email",))) for item in kept)
        existing = _locked(merged.keys())
        new = {e: f for e, f in merged.items() if e not in existing}
        created = _contacts_create(new, now) if new else []
        if lost := new.keys() - {c.email for c in created}:
            existing |= _locked(lost)  # created meanwhile by a concurrent request: update them
        before = {c.email: c.account_domain for c in existing.values()}
        if merge_custom:
            custom_merge(existing, merged)
        changed, changed_fields = apply_changes(existing, merged)
        relink = [c for c in changed if c.account_domain != before[c.email]]
        if changed:
            Contact.objects.bulk_update(changed, [*sorted(changed_fields), "updated_at"])
        link_changes_mark_stale(contacts_link(contacts=created + relink))
        work_add(kind=RecordKind.CONTACT, ids=[c.id for c in created + changed])
    return ContactUpsertResult(
        created=len(created),
        updated=len(merged) - len(created),
        suppressed=len(valid) - len(kept),
    )


def contacts_ensure(*, emails: Iterable[str]) -> dict[str, int]:
    """Ids of the contacts with these emails, creating (and linking) the missing ones.

    A suppressed (erased) email is neither created nor answered. Takes the erasure lock first,
    held to the end of the caller's transaction (`contacts.suppression`).
    """
    suppression_lock()
    wanted = set(emails)
    wanted -= emails_suppressed(emails=wanted)
    ids = dict(Contact.objects.filter(email__any=list(wanted)).values_list("email", "id"))
    missing: dict[str, dict[str, Any]] = {email: {} for email in sorted(wanted - ids.keys())}
    if missing:
        created = _contacts_create(missing, timezone.now())
        link_changes_mark_stale(contacts_link(contacts=created))
        ids.update({c.email: c.id for c in created})
        if lost := missing.keys() - ids.keys():  # created meanwhile by a concurrent request
            ids.update(Contact.objects.filter(email__in=lost).values_list("email", "id"))
    return ids


def events_ingest(*, items: Iterable[Any], now: datetime | None = None) -> IngestResult:
    valid: list[EventIn] = validate_batch(items, EventIn, event_cleaner(now or timezone.now()))
    return events_store(events=valid)


def events_store(*, events: list[EventIn]) -> IngestResult:
    """Store events already checked and cleaned by `EventIn`'s schema and cleaner (as
    `events_ingest` and the Tracking API's message reader do)."""
    with transaction.atomic():
        # Suppressed (erased) emails get no contact: their items are not stored.
        contact_ids = contacts_ensure(emails=(item.email for item in events))
        # Positions in the batch of the items kept: conflicts name the item of the request.
        positions = [i for i, item in enumerate(events) if item.email in contact_ids]
        kept = [events[i] for i in positions]
        result, owners = ingest_once(
            table=EngagementEvent,
            items=kept,
            owner="contact_id",
            owner_ids=[contact_ids[item.email] for item in kept],
        )
        work_add(kind=RecordKind.CONTACT, ids=owners)
    for conflict in result.conflicts:
        conflict["index"] = positions[conflict["index"]]
    result.suppressed = len(events) - len(kept)
    return result
