"""What activating a model version would change, computed without storing anything."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.utils import timezone

from accounts.models import Account, AccountSignal
from contacts.models import Contact, EngagementEvent
from mqa.models import ScoringModelVersion
from mqa.scoring import CommitteeMember, score_account, score_contact
from mqa.selectors import scoring_model_of
from mqa.services.facts import account_facts, activities_by_owner, contact_facts


def _chunks(table: type[Model], size: int) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(
            table._default_manager.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


class _Tally:
    def __init__(self, samples: int) -> None:
        self.total = 0
        self.moves: Counter[tuple[str, str]] = Counter()
        self.samples: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.limit = samples

    def add(self, key: str, old: str, new: str) -> None:
        self.total += 1
        self.moves[(old, new)] += 1
        if old != new and len(self.samples[(old, new)]) < self.limit:
            self.samples[(old, new)].append(key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "changed": sum(n for (old, new), n in self.moves.items() if old != new),
            "changes": [
                {"from": old, "to": new, "count": n, "samples": self.samples[(old, new)]}
                for (old, new), n in sorted(self.moves.items(), key=lambda m: (-m[1], m[0]))
                if old != new
            ],
        }


def scoring_model_preview(
    *, version_id: int, now: datetime | None = None, samples: int = 5
) -> dict[str, Any]:
    """Status changes (from → to, with sample emails/domains) if this version were active."""
    version = ScoringModelVersion.objects.get(pk=version_id)
    model = scoring_model_of(version)
    now = now or timezone.now()
    chunk = settings.MQA_RESCORE_CHUNK
    contacts, accounts = _Tally(samples), _Tally(samples)
    committees: dict[int, list[CommitteeMember]] = defaultdict(list)
    for ids in _chunks(Contact, chunk):
        events = activities_by_owner(
            EngagementEvent, "contact_id", ids, model.contact.engagement_rules, now
        )
        for contact in Contact.objects.filter(id__in=ids).select_related("account", "score"):
            result = score_contact(
                model.contact, contact_facts(contact), events.get(contact.id, ()), now
            )
            old = contact.score.status if hasattr(contact, "score") else "none"
            contacts.add(contact.email, old, result.status)
            if contact.account_id:
                committees[contact.account_id].append(
                    CommitteeMember(
                        contact.email, contact.buying_role, result.status, result.engagement
                    )
                )
    for ids in _chunks(Account, chunk):
        signals = activities_by_owner(
            AccountSignal, "account_id", ids, model.account.signal_rules, now
        )
        for account in Account.objects.filter(id__in=ids).select_related("score"):
            rollup = score_account(
                model.account,
                account_facts(account),
                committees.get(account.id, ()),
                signals.get(account.id, ()),
                now,
            )
            old = account.score.status if hasattr(account, "score") else "none"
            accounts.add(account.domain, old, rollup.status)
    return {
        "model_version": version.version,
        "computed_at": now,
        "contacts": contacts.as_dict(),
        "accounts": accounts.as_dict(),
    }
