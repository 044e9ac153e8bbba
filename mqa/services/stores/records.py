"""The record-by-record store: load each record into the engine's dataclasses, score it with
the pure engine (`mqa.scoring`), write its score and, on a status change, its history row.

The reference for the set-based store, and the store SQLite uses. It locks the score rows it
rewrites in primary-key order, so two workers on overlapping records serialise and the later
one reads what the earlier committed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Model

from accounts.models import Account
from contacts.models import Contact
from mqa.models import (
    AccountScore,
    ContactScore,
    RecordKind,
)
from mqa.models.scores import SCORED, ScoreStamp, computed_fields, is_list, is_number
from mqa.scoring import CommitteeMember
from mqa.scoring.types import AccountResult, ContactResult
from mqa.selectors import ActiveModel
from mqa.services.facts import accounts_results, contacts_results
from mqa.services.stores import Scope, Store, Transition


def _ids(table: type[Model], scope: Scope) -> list[int]:
    if scope.ids is not None:
        return list(scope.ids)
    rows = table._default_manager.filter(pk__gt=scope.lo, pk__lte=scope.hi).order_by("pk")
    return list(rows.values_list("pk", flat=True))


def _lock_scores(score_model: type[Model], key: str, ids: list[int], now: datetime) -> dict:
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


def _outcome(table: type[ScoreStamp], result: ContactResult | AccountResult) -> _Outcome:
    """An engine result as the columns of its score table (`computed_fields`) and its history
    row: the number columns are its scores, the list columns join the breakdown."""
    fields = computed_fields(table)
    values = {f.name: _stored(getattr(result, f.name)) for f in fields}
    return _Outcome(
        status=result.status,
        values=values,
        scores={f.name: values[f.name] for f in fields if is_number(f)},
        explanation={**result.breakdown, **{f.name: values[f.name] for f in fields if is_list(f)}},
    )


def _stored(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _store(
    *,
    kind: RecordKind,
    locked: dict[int, Any],
    outcomes: dict[int, _Outcome],
    active: ActiveModel,
    now: datetime,
    cause: str,
    skip_unchanged: bool,
) -> list[Transition]:
    """Write scores; a status change is a compare-and-swap that appends one history row."""
    owner = f"{kind}_id"
    table, history = SCORED[kind]
    unchanged: list[Any] = []
    changes: list[Any] = []  # history rows of the one table of this kind
    for pk, outcome in outcomes.items():
        score = locked[pk]
        old = score.status
        if (
            skip_unchanged
            and outcome.status == old
            and score.model_version_id == active.id
            and all(getattr(score, name) == value for name, value in outcome.values.items())
        ):
            continue
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
    return [
        Transition(kind, getattr(c, owner), c.from_status, c.to_status, c.cause, c.scores)
        for c in changes
    ]


def contacts_write(
    *, scope: Scope, active: ActiveModel, now: datetime, cause: str, skip_unchanged: bool = False
) -> list[Transition]:
    ids = _ids(Contact, scope)
    if not ids:
        return []
    outcomes: dict[int, _Outcome] = {}
    with transaction.atomic():
        locked = _lock_scores(ContactScore, "contact_id", ids, now)
        for contact, result in contacts_results(active.model, ids, now):
            outcomes[contact.id] = _outcome(ContactScore, result)
        return _store(
            kind=RecordKind.CONTACT,
            locked=locked,
            outcomes=outcomes,
            active=active,
            now=now,
            cause=cause,
            skip_unchanged=skip_unchanged,
        )


def accounts_write(
    *, scope: Scope, active: ActiveModel, now: datetime, cause: str, skip_unchanged: bool = False
) -> list[Transition]:
    ids = _ids(Account, scope)
    if not ids:
        return []
    outcomes: dict[int, _Outcome] = {}
    with transaction.atomic():
        locked = _lock_scores(AccountScore, "account_id", ids, now)
        # Accounts roll up their contacts' stored scores.
        committees: dict[int, list[CommitteeMember]] = defaultdict(list)
        for account_id, email, role, status, engagement in ContactScore.objects.filter(
            contact__account_id__in=ids
        ).values_list(
            "contact__account_id", "contact__email", "contact__buying_role", "status", "engagement"
        ):
            committees[account_id].append(CommitteeMember(email, role, status, engagement))
        for account, result in accounts_results(active.model, ids, committees, now):
            outcomes[account.id] = _outcome(AccountScore, result)
        return _store(
            kind=RecordKind.ACCOUNT,
            locked=locked,
            outcomes=outcomes,
            active=active,
            now=now,
            cause=cause,
            skip_unchanged=skip_unchanged,
        )


STORE = Store(contacts=contacts_write, accounts=accounts_write, set_based=False)
