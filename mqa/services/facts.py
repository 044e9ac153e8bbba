"""Load records into the scoring engine's inputs — attribute mappings and activities — and
score one chunk of stored records with the pure engine (nothing is stored here: the
record-by-record store writes the results, previews and backtests only read them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model

from accounts.models import Account, AccountSignal
from contacts.models import Contact, EngagementEvent
from mqa.scoring import (
    Activity,
    CommitteeMember,
    lookback_days,
    score_account_in_segment,
    score_contact_in_segment,
)
from mqa.scoring.attributes import ACCOUNT_FIELDS, CONTACT_FIELDS
from mqa.scoring.engine import FUTURE_TOLERANCE_SECONDS
from mqa.scoring.segments import engagement_rules, signal_rules
from mqa.scoring.types import AccountResult, ActivityRule, ContactResult, ScoringModel

# The stored fields rules can name (SPEC §3), plus the `custom` object.
ACCOUNT_FACTS = (*sorted(ACCOUNT_FIELDS), "custom")
CONTACT_FACTS = (*sorted(CONTACT_FIELDS - {"email_domain"}), "custom")


def account_facts(account: Account) -> dict[str, Any]:
    return {name: getattr(account, name) for name in ACCOUNT_FACTS}


def contact_facts(contact: Contact) -> dict[str, Any]:
    facts = {name: getattr(contact, name) for name in CONTACT_FACTS}
    facts["account"] = account_facts(contact.account) if contact.account else None
    return facts


def activities_by_owner(
    model: type[Model],
    owner: str,
    ids: Iterable[int],
    rules: Sequence[ActivityRule],
    now: datetime,
    *,
    before: datetime | None = None,
) -> dict[int, list[Activity]]:
    """Events (or signals) of the rule types that can count at `now`, grouped by owner id;
    with `before`, only those that occurred strictly before it (a backtest's cut-off)."""
    types = sorted({rule.type for rule in rules})
    grouped: dict[int, list[Activity]] = defaultdict(list)
    if not types:
        return grouped
    rows = model._default_manager.filter(
        **{f"{owner}__in": list(ids)},
        type__in=types,
        occurred_at__lte=now + timedelta(seconds=FUTURE_TOLERANCE_SECONDS),
    )
    if before is not None:
        rows = rows.filter(occurred_at__lt=before)
    days = lookback_days(rules)
    if days is not None:
        rows = rows.filter(occurred_at__gte=now - timedelta(days=days))
    for owner_id, type_, occurred_at, properties in rows.values_list(
        owner, "type", "occurred_at", "properties"
    ).iterator(chunk_size=5000):
        grouped[owner_id].append(Activity(type_, occurred_at, properties or {}))
    return grouped


def contacts_results(
    model: ScoringModel, ids: Sequence[int], now: datetime, *, before: datetime | None = None
) -> Iterator[tuple[Contact, ContactResult]]:
    """Each of these contacts (its account and stored score loaded) and its result at `now`,
    scored with its account's segment's model."""
    events = activities_by_owner(
        EngagementEvent, "contact_id", ids, engagement_rules(model), now, before=before
    )
    for contact in Contact.objects.filter(id__in=ids).select_related("account", "score"):
        facts, mine = contact_facts(contact), events.get(contact.id, ())
        yield contact, score_contact_in_segment(model, facts, mine, now)


def accounts_results(
    model: ScoringModel,
    ids: Sequence[int],
    committees: Mapping[int, Sequence[CommitteeMember]],
    now: datetime,
    *,
    before: datetime | None = None,
) -> Iterator[tuple[Account, AccountResult]]:
    """Each of these accounts (its stored score loaded) and its rollup of `committees`,
    scored with its segment's model."""
    signals = activities_by_owner(
        AccountSignal, "account_id", ids, signal_rules(model), now, before=before
    )
    for account in Account.objects.filter(id__in=ids).select_related("score"):
        yield (
            account,
            score_account_in_segment(
                model,
                account_facts(account),
                committees.get(account.id, ()),
                signals.get(account.id, ()),
                now,
            ),
        )
