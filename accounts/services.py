"""Account upserts and account-signal ingest (SPEC §2, §5, §7).

Each call validates the whole batch first (nothing is stored if any item is invalid), then
writes data and the durable record of the rescoring it causes in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, AccountSignal
from accounts.schemas import AccountIn, SignalIn, clean_account, signal_cleaner
from contacts.links import LinkChange, contacts_link_to_new_accounts
from contacts.models import Contact
from mqa.batch import merge_by_key, set_fields, validate_batch
from mqa.ingest import IngestResult, UpsertResult, apply_changes, custom_merge, ingest_once
from mqa.models import AccountScore, RecordKind
from mqa.services.work_queue import work_add


def link_changes_mark_stale(changes: Sequence[LinkChange]) -> None:
    """A contact that changed account is rescored, and so are both accounts."""
    work_add(kind=RecordKind.CONTACT, ids=[c.contact_id for c in changes])
    work_add(
        kind=RecordKind.ACCOUNT,
        ids=[i for c in changes for i in (c.old_account_id, c.new_account_id) if i is not None],
    )


def _accounts_create(fields_by_domain: dict[str, dict[str, Any]], now: datetime) -> list[Account]:
    created = Account.objects.bulk_create(
        [Account(domain=domain, **fields) for domain, fields in fields_by_domain.items()],
        batch_size=1000,
    )
    AccountScore.objects.bulk_create(
        [AccountScore(account_id=a.id, status_since=now) for a in created], batch_size=1000
    )
    link_changes_mark_stale(contacts_link_to_new_accounts(domains=fields_by_domain))
    return created


def accounts_upsert(*, items: Iterable[Any], merge_custom: bool = False) -> UpsertResult:
    """Partial upserts by domain; `merge_custom` as for contacts (`contacts_upsert`)."""
    valid = validate_batch(items, AccountIn, clean_account)
    merged = merge_by_key((item.domain, set_fields(item, ("domain",))) for item in valid)
    now = timezone.now()
    with transaction.atomic():
        existing = {
            a.domain: a
            for a in Account.objects.select_for_update()
            .filter(domain__any=list(merged))
            .order_by("pk")
        }
        if merge_custom:
            custom_merge(existing, merged)
        changed, changed_fields = apply_changes(existing, merged)
        if changed:
            Account.objects.bulk_update(changed, [*sorted(changed_fields), "updated_at"])
        new = {d: f for d, f in merged.items() if d not in existing}
        created = _accounts_create(new, now) if new else []
        changed_ids = [a.id for a in changed]
        work_add(kind=RecordKind.ACCOUNT, ids=[a.id for a in created] + changed_ids)
        # Contacts see their account's fields (`account.<field>`), so they are stale too.
        work_add(
            kind=RecordKind.CONTACT,
            ids=Contact.objects.filter(account_id__in=changed_ids).values_list("id", flat=True),
        )
    return UpsertResult(created=len(created), updated=len(merged) - len(new))


def accounts_ensure(*, domains: Iterable[str]) -> dict[str, int]:
    """Ids of the accounts with these domains, creating the missing ones (SPEC §2)."""
    wanted = set(domains)
    ids = dict(Account.objects.filter(domain__any=list(wanted)).values_list("domain", "id"))
    missing: dict[str, dict[str, Any]] = {domain: {} for domain in sorted(wanted - ids.keys())}
    if missing:
        created = _accounts_create(missing, timezone.now())
        work_add(kind=RecordKind.ACCOUNT, ids=[a.id for a in created])
        ids.update({a.domain: a.id for a in created})
    return ids


def signals_ingest(*, items: Iterable[Any], now: datetime | None = None) -> IngestResult:
    now = now or timezone.now()
    valid: list[SignalIn] = validate_batch(items, SignalIn, signal_cleaner(now))
    with transaction.atomic():
        account_ids = accounts_ensure(domains=(item.account_domain for item in valid))
        result, owners = ingest_once(
            table=AccountSignal,
            items=valid,
            owner="account_id",
            owner_ids=[account_ids[item.account_domain] for item in valid],
        )
        work_add(kind=RecordKind.ACCOUNT, ids=owners)
    return result
