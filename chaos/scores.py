"""`python -m chaos.scores DATABASE_URL [--accounts a.com,b.com]`: stored scores against a
fresh recompute by the pure engine, as of when each was computed; prints JSON figures.

Runs in a process of its own (Django set up on the chaos database). The comparison is the
bench's (`bench.measure.scores_against_the_engine`), over every record (or every record of
the named accounts) rather than the bench's sample: a fault run must show that no stored
score is stale.
"""

from __future__ import annotations

import argparse
import json
import os
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


def scores_checked(*, domains: list[str]) -> dict[str, Any]:
    from accounts.models import Account
    from bench.measure import scores_against_the_engine
    from contacts.models import Contact

    accounts = Account.objects.filter(domain__in=domains) if domains else Account.objects.all()
    contacts = Contact.objects.filter(account__in=accounts) if domains else Contact.objects.all()
    checked = scores_against_the_engine(
        contact_ids=list(contacts.filter(score__isnull=False).values_list("id", flat=True)),
        account_ids=list(accounts.filter(score__isnull=False).values_list("id", flat=True)),
    )
    return {
        "contacts": contacts.count(),
        "contacts_unscored": contacts.filter(score__isnull=True).count(),
        "contacts_wrong": checked["contacts_wrong"],
        "accounts": accounts.count(),
        "accounts_unscored": accounts.filter(score__isnull=True).count(),
        "accounts_wrong": checked["accounts_wrong"],
        "wrong_samples": checked["wrong_samples"],
    }


if __name__ == "__main__":
    main()
