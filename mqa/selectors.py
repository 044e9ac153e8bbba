"""Read-side queries of the scoring app: the active model, pipeline state, status history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from mqa.models import (
    AccountScore,
    AccountStatusChange,
    Cause,
    ContactScore,
    ContactStatusChange,
    Handoff,
    PendingWork,
    RescoreRun,
    ScoringModelVersion,
)
from mqa.scoring import ScoringModel, parse_document


@dataclass(frozen=True)
class ActiveModel:
    id: int
    version: int
    model: ScoringModel


_parsed: dict[tuple[int, int, datetime | None], ScoringModel] = {}


def scoring_model_of(version: ScoringModelVersion) -> ScoringModel:
    """The parsed model of a stored version; published documents never change, so cache them."""
    if version.state == ScoringModelVersion.State.DRAFT:
        return parse_document(version.document)
    key = (version.id, version.version, version.published_at)
    if key not in _parsed:
        _parsed[key] = parse_document(version.document)
    return _parsed[key]


def scoring_model_active() -> ActiveModel | None:
    version = ScoringModelVersion.objects.filter(state=ScoringModelVersion.State.ACTIVE).first()
    if version is None:
        return None
    return ActiveModel(version.id, version.version, scoring_model_of(version))


def pipeline_status_get(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    pending = PendingWork.objects.aggregate(oldest=Min("enqueued_at"))
    count = PendingWork.objects.count()
    run = RescoreRun.objects.first()
    active = ScoringModelVersion.objects.filter(state=ScoringModelVersion.State.ACTIVE).first()
    rescore = (
        {"state": run.state, "done": run.done, "total": run.total}
        if run is not None
        else {"state": "idle", "done": 0, "total": 0}
    )
    # A publish's rescore reflects what was accepted in the new model: pending until done. A
    # time refresh's is shown, but is not work on anything accepted (SPEC's `pending`).
    running = (
        run is not None and run.state == RescoreRun.State.RUNNING and run.cause == Cause.PUBLISH
    )
    oldest = pending["oldest"]
    if running and run is not None and (oldest is None or run.started_at < oldest):
        oldest = run.started_at
    return {
        "pending": count + (max(run.total - run.done, 1) if running and run else 0),
        "oldest_pending_seconds": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
        "active_model_version": active.version if active else None,
        "rescore": rescore,
    }


def qualification_summary_get(*, near_miss_limit: int = 10, mqa_limit: int = 15) -> dict[str, Any]:
    """Counts by status, the MQAs with their committee, and target accounts one criterion short."""

    def counts(queryset: Any) -> dict[str, int]:
        return dict(queryset.values_list("status").annotate(n=Count("pk")).order_by("status"))

    mqas = (
        AccountScore.objects.filter(status="mqa")
        .select_related("account")
        .order_by("-account__is_target", "-engagement")
    )
    near = [
        score
        for score in AccountScore.objects.filter(
            account__is_target=True, status__in=["engaged", "none"]
        )
        .select_related("account")
        .order_by("-engagement")
        if len(score.missing) == 1
    ]
    return {
        "contacts": counts(ContactScore.objects.all()),
        "accounts": counts(AccountScore.objects.all()),
        "target_accounts": counts(AccountScore.objects.filter(account__is_target=True)),
        "mqas": [
            {
                "domain": s.account.domain,
                "is_target": s.account.is_target,
                "engagement": s.engagement,
                "engaged_contacts": s.engaged_contacts,
                "roles_covered": s.roles_covered,
            }
            for s in mqas[:mqa_limit]
        ],
        "mqa_total": mqas.count(),
        "near_misses": _round_robin(
            [{"domain": s.account.domain, **s.missing[0]} for s in near], near_miss_limit
        ),
        "near_miss_total": len(near),
    }


def _round_robin(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Up to `limit` rows, taking one of each missing criterion in turn (variety first)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["criterion"], []).append(row)
    picked: list[dict[str, Any]] = []
    while len(picked) < limit and any(groups.values()):
        for group in groups.values():
            if group and len(picked) < limit:
                picked.append(group.pop(0))
    return picked


# What a handoff's API and webhook fields read (`mqa.services.routing.handoff_fields`):
# load handoffs with these to say them without a query each.
HANDOFF_RELATED = ("contact", "contact__account", "account")


def handoff_list() -> Any:
    return Handoff.objects.select_related(*HANDOFF_RELATED)


def rescore_handoffs(*, run: RescoreRun) -> QuerySet[Handoff]:
    """The handoffs a rescore run created: under its version, each at the instant of the status
    change of the run's cause it answered (handoffs the drain made meanwhile are not)."""
    caused = {
        "model_version_id": run.model_version_id,
        "cause": run.cause,
        "changed_at": OuterRef("created_at"),
    }
    lead = ContactStatusChange.objects.filter(contact_id=OuterRef("contact_id"), **caused)
    account = AccountStatusChange.objects.filter(account_id=OuterRef("account_id"), **caused)
    return Handoff.objects.filter(
        model_version_id=run.model_version_id, created_at__gte=run.started_at
    ).filter(Exists(lead) | Exists(account))


@dataclass(frozen=True)
class RescoreHandoffs:
    created: int
    unassigned: int


def rescore_handoffs_count(*, run: RescoreRun) -> RescoreHandoffs:
    """How many handoffs the rescore created so far, and how many of them nobody holds (one
    query: the progress page asks every second while the rescore runs)."""
    counts = rescore_handoffs(run=run).aggregate(
        created=Count("pk"), unassigned=Count("pk", filter=Q(unassigned=True))
    )
    return RescoreHandoffs(**counts)
