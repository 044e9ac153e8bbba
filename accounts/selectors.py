"""Read-side queries for accounts: lists with scores, readiness, status history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
    breakdown = score.breakdown if score else {}
    contacts = sorted(breakdown.get("contacts", []), key=lambda c: (-c["points"], c["email"]))[
        :TOP_CONTACTS
    ]
    return {
        "domain": account.domain,
        "name": account.name,
        "status": score.status if score else "none",
        "segment": score.segment if score else None,
        "is_target": account.is_target,
        "owner": account.owner,
        "fit": score.fit if score else 0,
        "engagement": score.engagement if score else 0.0,
        "signal_score": score.signal_score if score else 0.0,
        "engaged_contacts": score.engaged_contacts if score else 0,
        "mql_contacts": score.mql_contacts if score else 0,
        "roles_covered": score.roles_covered if score else [],
        "missing": score.missing if score else [],
        "status_since": score.status_since if score else None,
        "model_version": score.model_version.version if score and score.model_version else None,
        "computed_at": score.computed_at if score else None,
        "top_contacts": [
            {
                "email": c["email"],
                "buying_role": c["buying_role"],
                "status": c["status"],
                "engagement": c["engagement"],
                "weight": c["weight"],
            }
            for c in contacts
        ],
    }


def account_readiness_get(*, domain: str) -> dict[str, Any] | None:
    account = (
        Account.objects.select_related("score", "score__model_version")
        .filter(domain=domain)
        .first()
    )
    return readiness_of(account) if account else None


def account_history_list(*, domain: str) -> QuerySet[AccountStatusChange] | None:
    account_id = Account.objects.filter(domain=domain).values_list("id", flat=True).first()
    if account_id is None:
        return None
    return AccountStatusChange.objects.filter(account_id=account_id).select_related("model_version")
