"""Reads for the ABM review pages: paginated lists with their scores, one account in full."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncWeek

from accounts.models import Account, AccountSignal
from contacts.models import Contact, EngagementEvent
from contacts.selectors import missing_of
from mqa.models import AccountScore, AccountStatusChange, Handoff
from mqa.reports.series import account_points
from mqa.review.display import event_colour, event_label
from mqa.scoring.segments import account_model, segment_named
from mqa.scoring.types import AccountThresholds
from mqa.selectors import ActiveModel, scoring_model_active

# The account list's filter value for accounts in no segment (a real segment name is never empty).
NO_SEGMENT = "-"

STATUS_RANK = Case(
    When(score__status="mqa", then=Value(0)),
    When(score__status="engaged", then=Value(1)),
    When(score__status="none", then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


# The account list's sortable columns: name → order (a leading "-" in `sort` reverses it).
SORTS = {
    "readiness": ("rank", "-score__engagement", "domain"),
    "account": ("name", "domain"),
    "fit": ("score__fit", "domain"),
    "engagement": ("score__engagement", "domain"),
    "engaged": ("score__engaged_contacts", "domain"),
    "since": ("score__status_since", "domain"),
    "owner": ("owner", "domain"),
    "assignee": ("handoff_assignee", "domain"),
}


def _latest_handoff(field: str) -> Subquery:
    latest = Handoff.objects.filter(account=OuterRef("pk")).order_by("-id").values(field)[:1]
    return Subquery(latest)


def review_accounts_list(
    *,
    is_target: bool | None = None,
    owner: str | None = None,
    status: str | None = None,
    tier: str | None = None,
    segment: str | None = None,
    search: str | None = None,
    handoff: str | None = None,
    sort: str = "readiness",
) -> QuerySet[Account]:
    """Accounts by readiness (MQAs first, then by engagement) or by a column of `SORTS`, with
    their latest handoff's status and assignee (`handoff_*`); `handoff` keeps the accounts
    whose latest handoff is open, open and unassigned, breached, or that have none."""
    accounts = Account.objects.select_related("score").annotate(
        rank=STATUS_RANK,
        handoff_id=_latest_handoff("id"),
        handoff_status=_latest_handoff("status"),
        handoff_assignee=_latest_handoff("assignee"),
        handoff_breached=_latest_handoff("sla_breached_at"),
    )
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
    if handoff == "none":
        accounts = accounts.filter(handoff_id=None)
    elif handoff == "open":
        accounts = accounts.filter(handoff_status=Handoff.Status.OPEN)
    elif handoff == "unassigned":
        accounts = accounts.filter(handoff_status=Handoff.Status.OPEN, handoff_assignee=None)
    elif handoff == "breached":
        accounts = accounts.filter(handoff_status=Handoff.Status.OPEN).exclude(
            handoff_breached=None
        )
    first, *rest = SORTS[sort.removeprefix("-")]
    key = F(first.removeprefix("-"))
    descending = first.startswith("-") != sort.startswith("-")
    by = key.desc(nulls_last=True) if descending else key.asc(nulls_last=True)
    return accounts.order_by(by, *rest)


def review_accounts_rows(accounts: Iterable[Account]) -> Iterator[list[Any]]:
    """The account list as CSV rows, header first."""
    yield [
        "domain", "name", "status", "status_since", "is_target", "owner", "tier", "segment",
        "fit", "engagement", "engaged_contacts", "mql_contacts", "roles_covered", "missing",
        "handoff_status", "handoff_assignee",
    ]  # fmt: skip
    for a in accounts:
        score = getattr(a, "score", None)
        yield [
            a.domain,
            a.name or "",
            score.status if score else "none",
            score.status_since.isoformat() if score and score.status_since else "",
            "yes" if a.is_target else "no",
            a.owner or "",
            a.tier or "",
            (score.segment if score else None) or "",
            score.fit if score else "",
            score.engagement if score else "",
            score.engaged_contacts if score else "",
            score.mql_contacts if score else "",
            " ".join(score.roles_covered) if score else "",
            " ".join(m["criterion"] for m in score.missing) if score else "",
            getattr(a, "handoff_status", None) or "",
            getattr(a, "handoff_assignee", None) or "",
        ]


def review_new_mqas_count(*, since: datetime) -> int:
    """How many accounts became MQAs since `since` (and may have moved on since)."""
    return (
        AccountStatusChange.objects.filter(to_status="mqa", changed_at__gte=since)
        .values("account")
        .distinct()
        .count()
    )


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
    thresholds = None
    role_weights: dict[str, float] = {}
    if active:  # the thresholds of the segment that judged it
        model = account_model(
            active.model, segment_named(active.model, score.segment if score else None)
        )
        thresholds = model.thresholds
        role_weights = dict(model.role_weights)
    contacts = list(
        Contact.objects.filter(account=account)
        .select_related("account", "score", "score__model_version")
        .order_by("-score__engagement", "email")[:200]
    )
    for contact in contacts:  # what each still lacks to be an MQL, for the contacts table
        contact.mql_missing = missing_of(contact)  # type: ignore[attr-defined]
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
        "criteria": _criteria(score, thresholds) if score and thresholds else [],
        "buying_group": _buying_group(contacts, score, thresholds, role_weights),
        "contacts": contacts,
        "chart": _chart(list(weekly), since, weeks),
        "feed": _feed(account, limit=FEED_SIZE),
        "trend": _trend(account, active, now, thresholds),
        "history": list(
            AccountStatusChange.objects.filter(account=account).select_related("model_version")[:50]
        ),
        "handoff": handoff,
    }


FEED_SIZE = 15
TREND_WEEKS = 12


def _trend(
    account: Account,
    active: ActiveModel | None,
    now: datetime,
    thresholds: AccountThresholds | None,
) -> dict[str, Any]:
    """The account's fit and engagement week by week (`account_points`), with the MQA
    engagement threshold it is measured against, for a line chart and its table."""
    points = (
        account_points(account=account, model=active.model, weeks=TREND_WEEKS, now=now)
        if active
        else []
    )
    return {
        "labels": [p["at"].date().isoformat() for p in points],
        "engagement": [p["engagement"] for p in points],
        "fit": [p["fit"] for p in points],
        "statuses": [p["status"] for p in points],
        "threshold": thresholds.engagement if thresholds else None,
    }


def _criteria(score: AccountScore, thresholds: AccountThresholds) -> list[dict[str, Any]]:
    """Each MQA criterion (SPEC §3) of the account's segment with the account's value, what it
    needs, and whether it holds — the engine's own `missing` says which do not."""
    unmet = {m["criterion"] for m in score.missing}
    covered = list(score.roles_covered)
    rows = [
        ("fit_floor", score.fit, f"at least {thresholds.fit_floor:g}"),
        (
            "min_engaged_contacts",
            score.engaged_contacts,
            f"at least {thresholds.min_engaged_contacts}",
        ),
        ("min_roles", len(covered), f"at least {thresholds.min_roles}"),
        (
            "required_roles",
            ", ".join(r for r in covered if r in thresholds.required_roles) or "none",
            ", ".join(thresholds.required_roles) or "none",
        ),
        ("engagement", f"{score.engagement:g}", f"at least {thresholds.engagement:g}"),
        ("min_mql_contacts", score.mql_contacts, f"at least {thresholds.min_mql_contacts}"),
    ]
    return [
        {"criterion": name, "actual": actual, "required": required, "met": name not in unmet}
        for name, actual, required in rows
    ]


def _buying_group(
    contacts: list[Contact],
    score: AccountScore | None,
    thresholds: AccountThresholds | None,
    role_weights: dict[str, float],
) -> list[dict[str, Any]]:
    """Every role the model knows or a contact holds: required or not, covered (by an engaged
    contact) or not, its people by engagement — and for an uncovered role, who holds it
    without being engaged yet: the people who could fill it, named where covering it would
    meet a criterion (a required role, or any role while too few are covered)."""
    required = list(thresholds.required_roles) if thresholds else []
    covered = set(score.roles_covered if score else [])
    people: dict[str, list[Contact]] = {}
    for contact in contacts:
        if contact.buying_role:
            people.setdefault(contact.buying_role, []).append(contact)
    roles = required + sorted((set(role_weights) | set(people)) - set(required))
    short_of_roles = thresholds is not None and len(covered) < thresholds.min_roles

    def needed(role: str) -> bool:  # a role whose coverage would meet a criterion
        return role in required or short_of_roles

    return [
        {
            "role": role,
            "required": role in required,
            "covered": role in covered,
            "weight": role_weights.get(role),
            "people": people.get(role, []),
            "could_fill": people.get(role, []) if role not in covered and needed(role) else [],
        }
        for role in roles
    ]


def _feed(account: Account, *, limit: int) -> list[dict[str, Any]]:
    """The account's latest activity, newest first: its contacts' events and its signals."""
    events = (
        EngagementEvent.objects.filter(contact__account=account)
        .select_related("contact")
        .order_by("-occurred_at")[:limit]
    )
    signals = AccountSignal.objects.filter(account=account).order_by("-occurred_at")[:limit]
    feed = [
        {"at": e.occurred_at, "type": e.type, "who": e.contact.email, "properties": e.properties}
        for e in events
    ] + [
        {"at": s.occurred_at, "type": s.type, "who": None, "properties": s.properties}
        for s in signals
    ]
    return sorted(feed, key=lambda item: item["at"], reverse=True)[:limit]


def _chart(rows: list[dict[str, Any]], since: datetime, weeks: int) -> dict[str, Any]:
    """Weekly event counts by type, for a stacked bar chart."""
    start = since - timedelta(days=since.weekday())
    labels = [(start + timedelta(weeks=i)).date().isoformat() for i in range(weeks + 1)]
    series: dict[str, list[int]] = {}
    for row in rows:
        week = row["week"].date().isoformat()
        if week in labels:
            series.setdefault(row["type"], [0] * len(labels))[labels.index(week)] += row["n"]
    types = sorted(series)
    return {
        "labels": labels,
        "datasets": [
            {"label": event_label(t), "data": series[t], "backgroundColor": event_colour(t)}
            for t in types
        ],
        # the same counts as a table, the chart's text alternative: (week, counts by type)
        "rows": [(week, [series[t][i] for t in types]) for i, week in enumerate(labels)],
    }


def review_lead_queue(*, status: str | None = "open") -> QuerySet[Handoff]:
    handoffs = Handoff.objects.filter(kind=Handoff.Kind.LEAD).select_related(
        "contact", "contact__score", "contact__score__model_version", "contact__account"
    )
    if status:
        handoffs = handoffs.filter(status=status)
    return handoffs.order_by("due_at", "id")


def review_lead_page(*, status: str | None, number: Any, size: int) -> Page[Handoff]:
    """One page of the lead queue; each lead carries what it lacks to be an MQL today
    (`mql_missing`: empty unless its score fell since it was handed over)."""
    page = Paginator(review_lead_queue(status=status), size).get_page(number)
    for handoff in page:
        if handoff.contact is not None:
            handoff.contact.mql_missing = missing_of(handoff.contact)  # type: ignore[attr-defined]
    return page
