"""Read-side queries for accounts: lists with scores, readiness, status history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connections, router
from django.db.models import Q, QuerySet

from accounts.models import Account
from mqa.models import AccountStatusChange

TOP_CONTACTS = 10


def account_list() -> QuerySet[Account]:
    """Accounts with their scores loaded (for readiness documents)."""
    return Account.objects.select_related("score", "score__model_version")


def accounts_updated_since(accounts: QuerySet[Account], since: datetime) -> QuerySet[Account]:
    """Accounts whose fields or score changed at or after `since`."""
    return accounts.filter(Q(updated_at__gte=since) | Q(score__computed_at__gte=since))


def readiness_of(account: Account) -> dict[str, Any]:
    """The §7 readiness document of an account loaded with `score__model_version`."""
    score = getattr(account, "score", None)
    return _readiness(
        (account.domain, account.name, account.is_target, account.owner),
        None
        if score is None
        else (
            score.status,
            score.segment,
            score.fit,
            score.engagement,
            score.signal_score,
            score.engaged_contacts,
            score.mql_contacts,
            score.roles_covered,
            score.missing,
            score.status_since,
            score.model_version.version if score.model_version else None,
            score.computed_at,
            score.breakdown.get("contacts", []),
        ),
    )


def _readiness(account: tuple[Any, ...], score: tuple[Any, ...] | None) -> dict[str, Any]:
    domain, name, is_target, owner = account
    (
        status,
        segment,
        fit,
        engagement,
        signal_score,
        engaged_contacts,
        mql_contacts,
        roles_covered,
        missing,
        status_since,
        version,
        computed_at,
        contacts,
    ) = score or ("none", None, 0, 0.0, 0.0, 0, 0, [], [], None, None, None, [])
    top = sorted(contacts, key=lambda c: (-c["points"], c["email"]))[:TOP_CONTACTS]
    return {
        "domain": domain,
        "name": name,
        "status": status,
        "segment": segment,
        "is_target": is_target,
        "owner": owner,
        "fit": fit,
        "engagement": engagement,
        "signal_score": signal_score,
        "engaged_contacts": engaged_contacts,
        "mql_contacts": mql_contacts,
        "roles_covered": roles_covered,
        "missing": missing,
        "status_since": status_since,
        "model_version": version,
        "computed_at": computed_at,
        "top_contacts": [
            {
                "email": c["email"],
                "buying_role": c["buying_role"],
                "status": c["status"],
                "engagement": c["engagement"],
                "weight": c["weight"],
            }
            for c in top
        ],
    }


# The readiness GET is the hottest read: on PostgreSQL one fixed statement with only the
# columns the document needs (the ORM spent a third of the request compiling its query and
# loaded the whole model document with the version number).
READINESS_SQL = """
SELECT a.domain, a.name, a.is_target, a.owner, s.account_id IS NOT NULL, s.status, s.segment,
       s.fit, s.engagement, s.signal_score, s.engaged_contacts, s.mql_contacts, s.roles_covered,
       s.missing, s.status_since, v.version, s.computed_at,
       coalesce(s.breakdown -> 'contacts', '[]'::jsonb)
FROM accounts_account a
LEFT JOIN mqa_accountscore s ON s.account_id = a.id
LEFT JOIN mqa_scoringmodelversion v ON v.id = s.model_version_id
WHERE a.domain = %s
"""


def account_readiness_get(*, domain: str) -> dict[str, Any] | None:
    alias = router.db_for_read(Account)  # the replica for a read request, when there is one
    if connections[alias].vendor != "postgresql":
        account = (
            Account.objects.using(alias)
            .select_related("score", "score__model_version")
            .filter(domain=domain)
            .first()
        )
        return readiness_of(account) if account else None
    with connections[alias].cursor() as cursor:
        cursor.execute(READINESS_SQL, [domain])
        row = cursor.fetchone()
    if row is None:
        return None
    scored, score = row[4], list(row[5:])
    for i in (7, 8, 12):  # jsonb arrives as text (Django's loader), as JSONField reads it
        if isinstance(score[i], str):
            score[i] = json.loads(score[i])
    return _readiness(row[:4], tuple(score) if scored else None)


def account_history_list(*, domain: str) -> QuerySet[AccountStatusChange] | None:
    account_id = Account.objects.filter(domain=domain).values_list("id", flat=True).first()
    if account_id is None:
        return None
    return AccountStatusChange.objects.filter(account_id=account_id).select_related("model_version")
