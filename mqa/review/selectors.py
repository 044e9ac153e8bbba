"""Reads for the ABM review pages: paginated lists with their scores, one account in full."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncWeek

from accounts.models import Account
from contacts.models import Contact, EngagementEvent
from mqa.models import AccountScore, AccountStatusChange, Handoff
from mqa.scoring.segments import account_model, segment_named
from mqa.selectors import scoring_model_active

# The account list's filter value for accounts in no segment (a real segment name is never empty).
NO_SEGMENT = "-"

STATUS_RANK = Case(
    When(score__status="mqa", then=Value(0)),
    When(score__status="engaged", then=Value(1)),
    When(score__status="none", then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def review_accounts_list(
    *,
    is_target: bool | None = None,
    owner: str | None = None,
    status: str | None = None,
    tier: str | None = None,
    segment: str | None = None,
    search: str | None = None,
) -> QuerySet[Account]:
    """Accounts by readiness: MQAs first, then by engagement."""
    accounts = Account.objects.select_related("score").annotate(rank=STATUS_RANK)
    if is_target is not None:
        accounts = accounts.filter(is_target=is_target)
    if owner:
        accounts = accounts.filter(owner=owner)
    if status:
        accounts = accounts.filter(score__status=status)
    if tier:
        accounts = accounts.filter(tier=tier)
    if segment == NO_SEGMENT:
        accounts = accounts.filter(score__segment=None)
    elif segment:
        accounts = accounts.filter(score__segment=segment)
    if search:
        accounts = accounts.filter(Q(domain__icontains=search) | Q(name__icontains=search))
    return accounts.order_by("rank", "-score__engagement", "domain")


def review_filter_choices() -> dict[str, Any]:
    return {
        "owners": list(
            Account.objects.exclude(owner=None)
            .order_by("owner")
            .values_list("owner", flat=True)
            .distinct()
        ),
        "tiers": list(
            Account.objects.exclude(tier=None)
            .order_by("tier")
            .values_list("tier", flat=True)
            .distinct()
        ),
        "segments": list(
            AccountScore.objects.exclude(segment=None)
            .order_by("segment")
            .values_list("segment", flat=True)
            .distinct()
        ),
        "no_segment": NO_SEGMENT,
    }


def review_account_get(*, domain: str, now: datetime, weeks: int = 16) -> dict[str, Any] | None:
    account = (
        Account.objects.select_related("score", "score__model_version")
        .filter(domain=domain)
        .first()
    )
    if account is None:
        return None
    score = getattr(account, "score", None)
    active = scoring_model_active()
    required: list[str] = []
    if active:  # the required roles of the segment that judged it
        segment = segment_named(active.model, score.segment if score else None)
        required = list(account_model(active.model, segment).thresholds.required_roles)
    covered = set(score.roles_covered if score else [])
    contacts = list(
        Contact.objects.filter(account=account)
        .select_related("score")
        .order_by("-score__engagement", "email")[:200]
    )
    since = now - timedelta(weeks=weeks)
    weekly = (
        EngagementEvent.objects.filter(contact__account=account, occurred_at__gte=since)
        .annotate(week=TruncWeek("occurred_at"))
        .values("week", "type")
        .annotate(n=Count("id"))
        .order_by("week", "type")
    )
    handoff = Handoff.objects.filter(account=account).order_by("-id").first()
    return {
        "account": account,
        "score": score,
        "required_roles": [{"role": r, "covered": r in covered} for r in required],
        "other_roles": sorted(covered - set(required)),
        "contacts": contacts,
        "chart": _chart(list(weekly), since, weeks),
        "history": list(
            AccountStatusChange.objects.filter(account=account).select_related("model_version")[:50]
        ),
        "handoff": handoff,
    }


def _chart(rows: list[dict[str, Any]], since: datetime, weeks: int) -> dict[str, Any]:
    """Weekly event counts by type, for a stacked bar chart."""
    start = since - timedelta(days=since.weekday())
    labels = [(start + timedelta(weeks=i)).date().isoformat() for i in range(weeks + 1)]
    series: dict[str, list[int]] = {}
    for row in rows:
        week = row["week"].date().isoformat()
        if week in labels:
            series.setdefault(row["type"], [0] * len(labels))[labels.index(week)] += row["n"]
    return {
        "labels": labels,
        "datasets": [{"label": t, "data": d} for t, d in sorted(series.items())],
    }


def review_lead_queue(*, status: str | None = "open") -> QuerySet[Handoff]:
    handoffs = Handoff.objects.filter(kind=Handoff.Kind.LEAD).select_related(
        "contact", "contact__score", "contact__account"
    )
    if status:
        handoffs = handoffs.filter(status=status)
    return handoffs.order_by("due_at", "id")
