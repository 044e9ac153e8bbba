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
    fields = {name: getattr(account, name) for name in ACCOUNT_FIELDS}
    if score is None:
        return _readiness(fields, None)
    stored = {name: getattr(score, name) for name in SCORE_FIELDS}
    version = score.model_version.version if score.model_version else None
    contacts = score.breakdown.get("contacts", [])
    return _readiness(fields, {**stored, "model_version": version, "contacts": contacts})


ACCOUNT_FIELDS = ("domain", "name", "is_target", "owner")
# The document's fields, in its order (`top_contacts` follows).
DOCUMENT_FIELDS = (
    "domain",
    "name",
    "status",
    "segment",
    "is_target",
    "owner",
    "fit",
    "engagement",
    "signal_score",
    "engaged_contacts",
    "mql_contacts",
    "roles_covered",
    "missing",
    "status_since",
    "model_version",
    "computed_at",
)
# The score's own columns among them (the version is its model version's).
SCORE_FIELDS = tuple(
    name for name in DOCUMENT_FIELDS if name not in ACCOUNT_FIELDS and name != "model_version"
)


def _unscored() -> dict[str, Any]:
    """An account's score fields before it has a score (fresh lists each time)."""
    return {
        "status": "none",
        "segment": None,
        "fit": 0,
        "engagement": 0.0,
        "signal_score": 0.0,
        "engaged_contacts": 0,
        "mql_contacts": 0,
        "roles_covered": [],
        "missing": [],
        "status_since": None,
        "computed_at": None,
        "model_version": None,
        "contacts": [],
    }


def _readiness(account: dict[str, Any], score: dict[str, Any] | None) -> dict[str, Any]:
    """The document from the account's fields and its score's (`_unscored` without one)."""
    values = {**account, **(score or _unscored())}
    top = sorted(values.pop("contacts"), key=lambda c: (-c["points"], c["email"]))
    return {
        **{name: values[name] for name in DOCUMENT_FIELDS},
        "top_contacts": [
            {
                "email": c["email"],
                "buying_role": c["buying_role"],
                "status": c["status"],
                "engagement": c["engagement"],
                "weight": c["weight"],
            }
            for c in top[:TOP_CONTACTS]
        ],
    }


# The readiness GET is the hottest read: on PostgreSQL one fixed statement with only the
# columns the document needs (the ORM spent a third of the request compiling its query and
# loaded the whole model document with the version number). Columns are named as above.
READINESS_SQL = f"""
SELECT {", ".join(f"a.{name}" for name in ACCOUNT_FIELDS)}, s.account_id IS NOT NULL AS scored,
       {", ".join(f"s.{name}" for name in SCORE_FIELDS)}, v.version AS model_version,
       coalesce(s.breakdown -> 'contacts', '[]'::jsonb) AS contacts
FROM accounts_account a
LEFT JOIN mqa_accountscore s ON s.account_id = a.id
LEFT JOIN mqa_scoringmodelversion v ON v.id = s.model_version_id
WHERE a.domain = %s
"""
JSONB_COLUMNS = ("roles_covered", "missing", "contacts")


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
        names = [column.name for column in cursor.description]
    if row is None:
        return None
    values = dict(zip(names, row, strict=True))
    for name in JSONB_COLUMNS:  # jsonb arrives as text (Django's loader), as JSONField reads it
        if isinstance(values[name], str):
            values[name] = json.loads(values[name])
    fields = {name: values.pop(name) for name in ACCOUNT_FIELDS}
    return _readiness(fields, values if values.pop("scored") else None)


def account_history_list(*, domain: str) -> QuerySet[AccountStatusChange] | None:
    account_id = Account.objects.filter(domain=domain).values_list("id", flat=True).first()
    if account_id is None:
        return None
    return AccountStatusChange.objects.filter(account_id=account_id).select_related("model_version")
