"""Load records into the engine's dataclasses, score them, store scores and status changes.

`scores_recompute` is the one write path for scores: contacts first, then their accounts (and
any accounts named directly). It locks the score rows it rewrites in primary-key order, so two
workers on overlapping records serialise and the later one reads what the earlier committed;
running it twice, out of order or concurrently leaves the same state (SPEC §5).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from accounts.models import Account, AccountSignal
from contacts.models import Contact, EngagementEvent
from mqa.models import (
    AccountScore,
    AccountStatusChange,
    ContactScore,
    ContactStatusChange,
)
from mqa.scoring import CommitteeMember, score_account, score_contact
from mqa.selectors import ActiveModel
from mqa.services.facts import account_facts, activities_by_owner, contact_facts
from mqa.services.routing import handoffs_for_transitions
from mqa.services.webhooks import webhook_events_emit


def _lock_scores(score_model: type[Model], key: str, ids: Sequence[int], now: datetime) -> dict:
    """Create missing score rows (status `none`), then lock them all in primary-key order."""
    manager = score_model._default_manager
    manager.bulk_create(
        [score_model(**{key: i}, status_since=now) for i in ids], ignore_conflicts=True
    )
    return {s.pk: s for s in manager.select_for_update().filter(pk__in=ids).order_by("pk")}


@dataclass(frozen=True)
class _Outcome:
    status: str
    values: dict[str, Any]  # score columns other than the status bookkeeping
    scores: dict[str, Any]  # what the history row keeps of them
    explanation: dict[str, Any]


def _store(
    *,
    locked: dict[int, Any],
    outcomes: dict[int, _Outcome],
    table: type[Model],
    history: type[Model],
    owner: str,
    active: ActiveModel,
    now: datetime,
    cause: str,
) -> list[Any]:
    """Write scores; a status change is a compare-and-swap that appends one history row.

    Returns the history rows appended (the status changes that took effect).
    """
    unchanged, changes = [], []
    for pk, outcome in outcomes.items():
        score = locked[pk]
        old = score.status
        for name, value in outcome.values.items():
            setattr(score, name, value)
        score.model_version_id, score.computed_at = active.id, now
        if outcome.status == old:
            unchanged.append(score)
            continue
        fields = {
            **outcome.values,
            "status": outcome.status,
            "status_since": now,
            "model_version_id": active.id,
            "computed_at": now,
        }
        if table._default_manager.filter(pk=pk, status=old).update(**fields) == 1:
            changes.append(
                history(
                    **{owner: pk},
                    from_status=old,
                    to_status=outcome.status,
                    changed_at=now,
                    model_version_id=active.id,
                    cause=cause,
                    scores=outcome.scores,
                    explanation=outcome.explanation,
                )
            )
    if unchanged:
        written = [*next(iter(outcomes.values())).values, "model_version", "computed_at"]
        table._default_manager.bulk_update(unchanged, written, batch_size=1000)
    history._default_manager.bulk_create(changes, batch_size=1000)
    return changes


def contact_scores_recompute(
    *,
    contact_ids: Iterable[int],
    active: ActiveModel,
    now: datetime,
    cause: str,
    route: bool = True,
) -> set[int]:
    """Rescore contacts; returns the ids of the accounts they are linked to."""
    ids = sorted(set(contact_ids))
    if not ids:
        return set()
    model = active.model.contact
    accounts: set[int] = set()
    outcomes: dict[int, _Outcome] = {}
    with transaction.atomic():
        locked = _lock_scores(ContactScore, "contact_id", ids, now)
        events = activities_by_owner(
            EngagementEvent, "contact_id", ids, model.engagement_rules, now
        )
        for contact in Contact.objects.filter(id__in=ids).select_related("account"):
            if contact.account_id:
                accounts.add(contact.account_id)
            r = score_contact(model, contact_facts(contact), events.get(contact.id, ()), now)
            scores = {"fit": r.fit, "engagement": r.engagement, "total": r.total}
            reasons = list(r.disqualified_reasons)
            outcomes[contact.id] = _Outcome(
                status=r.status,
                values={**scores, "disqualified_reasons": reasons, "breakdown": r.breakdown},
                scores=scores,
                explanation={**r.breakdown, "disqualified_reasons": reasons},
            )
        changes = _store(
            locked=locked,
            outcomes=outcomes,
            table=ContactScore,
            history=ContactStatusChange,
            owner="contact_id",
            active=active,
            now=now,
            cause=cause,
        )
        transitions_announce(kind="contact", changes=changes, active=active, route=route, now=now)
    return accounts


def account_scores_recompute(
    *,
    account_ids: Iterable[int],
    active: ActiveModel,
    now: datetime,
    cause: str,
    route: bool = True,
) -> None:
    ids = sorted(set(account_ids))
    if not ids:
        return
    model = active.model.account
    outcomes: dict[int, _Outcome] = {}
    with transaction.atomic():
        locked = _lock_scores(AccountScore, "account_id", ids, now)
        members: dict[int, list[CommitteeMember]] = defaultdict(list)
        for account_id, email, role, status, engagement in ContactScore.objects.filter(
            contact__account_id__in=ids
        ).values_list(
            "contact__account_id", "contact__email", "contact__buying_role", "status", "engagement"
        ):
            members[account_id].append(CommitteeMember(email, role, status, engagement))
        signals = activities_by_owner(AccountSignal, "account_id", ids, model.signal_rules, now)
        for account in Account.objects.filter(id__in=ids):
            r = score_account(
                model,
                account_facts(account),
                members.get(account.id, ()),
                signals.get(account.id, ()),
                now,
            )
            scores = {
                "fit": r.fit,
                "engagement": r.engagement,
                "signal_score": r.signal_score,
                "engaged_contacts": r.engaged_contacts,
                "mql_contacts": r.mql_contacts,
            }
            extra = {
                "roles_covered": list(r.roles_covered),
                "missing": list(r.missing),
                "disqualified_reasons": list(r.disqualified_reasons),
            }
            outcomes[account.id] = _Outcome(
                status=r.status,
                values={**scores, **extra, "breakdown": r.breakdown},
                scores=scores,
                explanation={**r.breakdown, **extra},
            )
        changes = _store(
            locked=locked,
            outcomes=outcomes,
            table=AccountScore,
            history=AccountStatusChange,
            owner="account_id",
            active=active,
            now=now,
            cause=cause,
        )
        transitions_announce(kind="account", changes=changes, active=active, route=route, now=now)


def scores_recompute(
    *,
    contact_ids: Iterable[int],
    account_ids: Iterable[int],
    active: ActiveModel,
    now: datetime,
    cause: str,
    route: bool = True,
) -> None:
    """Rescore contacts, then roll up their accounts and the accounts named directly.

    On PostgreSQL this runs set-based (`mqa.services.bulk`); elsewhere record by record.
    """
    if connection.vendor == "postgresql":
        from mqa.services.bulk import account_scores_bulk, contact_scores_bulk

        contacts, accounts = sorted(set(contact_ids)), set(account_ids)
        with transaction.atomic():
            if contacts:
                accounts |= contact_scores_bulk(
                    ids=contacts, active=active, now=now, cause=cause, route=route
                )
            if accounts:
                account_scores_bulk(
                    ids=sorted(accounts), active=active, now=now, cause=cause, route=route
                )
        return
    with transaction.atomic():
        touched = contact_scores_recompute(
            contact_ids=contact_ids, active=active, now=now, cause=cause, route=route
        )
        account_scores_recompute(
            account_ids=touched | set(account_ids), active=active, now=now, cause=cause, route=route
        )


# Per kind of record: its table, the natural key webhooks carry, the status routing hands off.
ANNOUNCED: dict[str, tuple[type[Contact] | type[Account], str, str]] = {
    "contact": (Contact, "email", "mql"),
    "account": (Account, "domain", "mqa"),
}


def transitions_announce(
    *, kind: str, changes: list[Any], active: ActiveModel, route: bool, now: datetime
) -> None:
    """Tell subscribers about status changes and hand qualified records to sales."""
    if not changes:
        return
    table, key, entering = ANNOUNCED[kind]
    owner_field = f"{kind}_id"
    names = dict(
        table.objects.filter(id__in=[getattr(c, owner_field) for c in changes]).values_list(
            "id", key
        )
    )
    webhook_events_emit(
        event_type=f"{kind}.status_changed",
        payloads=[
            {
                owner_field: getattr(c, owner_field),
                key: names.get(getattr(c, owner_field)),
                "from": c.from_status,
                "to": c.to_status,
                "changed_at": now.isoformat(),
                "model_version": active.version,
                "cause": c.cause,
                "scores": c.scores,
            }
            for c in changes
        ],
    )
    if route:
        qualified = [getattr(c, owner_field) for c in changes if c.to_status == entering]
        handoffs_for_transitions(
            contacts_entering_mql=qualified if kind == "contact" else [],
            accounts_entering_mqa=qualified if kind == "account" else [],
            model_version_id=active.id,
            now=now,
        )
