"""What activating a model version would change, computed without storing anything.

The changes are counted over all records and again per segment (SPEC §3 *Segments*): each
record is counted under the segment it would be in under the previewed model — its segments in
document order, then `None` for the records in none.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import Account
from contacts.models import Contact
from mqa.models import ScoringModelVersion
from mqa.scoring import CommitteeMember
from mqa.selectors import scoring_model_of
from mqa.services.dry_run import accounts_scored, committee_member, contacts_scored


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
    contacts, accounts = _Tally(samples), _Tally(samples)
    names: list[str | None] = [*(s.name for s in model.segments), None]
    by_segment = {name: (_Tally(samples), _Tally(samples)) for name in names}
    committees: dict[int, list[CommitteeMember]] = defaultdict(list)
    for contact, result in contacts_scored(model, Contact.objects.all(), now):
        old = contact.score.status if hasattr(contact, "score") else "none"
        contacts.add(contact.email, old, result.status)
        by_segment[result.segment][0].add(contact.email, old, result.status)
        if contact.account_id:
            committees[contact.account_id].append(committee_member(contact, result))
    for account, rollup in accounts_scored(model, Account.objects.all(), committees, now):
        old = account.score.status if hasattr(account, "score") else "none"
        accounts.add(account.domain, old, rollup.status)
        by_segment[rollup.segment][1].add(account.domain, old, rollup.status)
    return {
        "model_version": version.version,
        "computed_at": now,
        "contacts": contacts.as_dict(),
        "accounts": accounts.as_dict(),
        "segments": [
            {"segment": name, "contacts": c.as_dict(), "accounts": a.as_dict()}
            for name, (c, a) in by_segment.items()
        ],
    }
