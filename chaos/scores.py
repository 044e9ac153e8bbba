"""`python -m chaos.scores DATABASE_URL [--accounts a.com,b.com]`: stored scores against a
fresh recompute by the pure engine, as of when each was computed; prints JSON figures.

Runs in a process of its own (Django set up on the chaos database), like
`bench.measure.check_correctness`, but over every record (or every record of the named
accounts), not a sample: a fault run must show that no stored score is stale.
Scores compare within 0.01 (SPEC §4: sums may differ in their last bits).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from datetime import datetime
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--accounts", default="")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    print(json.dumps(scores_checked(domains=[d for d in args.accounts.split(",") if d])))


def _by_computed_at(rows: Any) -> dict[datetime, list[int]]:
    grouped: dict[datetime, list[int]] = defaultdict(list)
    for pk, computed_at in rows:
        grouped[computed_at].append(pk)
    return grouped


def _wrong(figures: dict[str, Any], counter: str, name: str, stored: Any, fresh: Any) -> None:
    figures[counter] += 1
    figures["wrong_samples"].append(
        {
            "record": name,
            "stored": [stored.fit, stored.engagement, stored.status],
            "recomputed": [fresh.fit, fresh.engagement, fresh.status],
        }
    )


def scores_checked(*, domains: list[str]) -> dict[str, Any]:
    from accounts.models import Account
    from contacts.models import Contact
    from mqa.models import AccountScore, ContactScore
    from mqa.scoring import CommitteeMember
    from mqa.selectors import scoring_model_active
    from mqa.services.facts import accounts_results, contacts_results

    active = scoring_model_active()
    assert active is not None
    accounts = Account.objects.filter(domain__in=domains) if domains else Account.objects.all()
    contacts = Contact.objects.filter(account__in=accounts) if domains else Contact.objects.all()
    figures: dict[str, Any] = {
        "contacts": contacts.count(),
        "contacts_unscored": contacts.filter(score__isnull=True).count(),
        "contacts_wrong": 0,
        "accounts": accounts.count(),
        "accounts_unscored": accounts.filter(score__isnull=True).count(),
        "accounts_wrong": 0,
        "wrong_samples": [],
    }
    scored = ContactScore.objects.filter(contact__in=contacts).values_list(
        "contact_id", "computed_at"
    )
    for computed_at, ids in _by_computed_at(scored).items():
        for start in range(0, len(ids), 2000):
            for contact, result in contacts_results(
                active.model.contact, ids[start : start + 2000], computed_at
            ):
                stored = contact.score
                if (
                    result.fit != stored.fit
                    or abs(result.engagement - stored.engagement) > 0.01
                    or result.status != stored.status
                ):
                    _wrong(figures, "contacts_wrong", contact.email, stored, result)
    account_scores = AccountScore.objects.filter(account__in=accounts).values_list(
        "account_id", "computed_at"
    )
    for computed_at, ids in _by_computed_at(account_scores).items():
        members: dict[int, list[CommitteeMember]] = defaultdict(list)
        for c in Contact.objects.filter(account_id__in=ids).select_related("score"):
            score = getattr(c, "score", None)
            members[c.account_id or 0].append(
                CommitteeMember(
                    c.email,
                    c.buying_role,
                    score.status if score else "none",
                    score.engagement if score else 0.0,
                )
            )
        for account, rollup in accounts_results(active.model.account, ids, members, computed_at):
            kept = account.score
            if (
                rollup.fit != kept.fit
                or abs(rollup.engagement - kept.engagement) > 0.011
                or rollup.status != kept.status
                or rollup.engaged_contacts != kept.engaged_contacts
                or rollup.mql_contacts != kept.mql_contacts
            ):
                _wrong(figures, "accounts_wrong", account.domain, kept, rollup)
    figures["wrong_samples"] = figures["wrong_samples"][:5]
    return figures


if __name__ == "__main__":
    main()
