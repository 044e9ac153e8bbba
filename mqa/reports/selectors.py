"""Read-side queries of the reports: load handoffs into `HandoffRow`s, compute the funnel."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Case, CharField, Expression, F, When
from django.db.models.fields.json import KT

from mqa.models import Handoff
from mqa.reports.funnel import (
    ACCOUNT_STAGES,
    LEAD_STAGES,
    HandoffRow,
    funnel_compute,
    months_between,
)


def _segment_at_creation(current: str) -> Expression:
    """The segment of the handed-over record when the handoff was created: the one its
    context's breakdown names (null for none); handoffs created before scores named their
    segment fall back to the record's current score (`current`)."""
    return Case(
        When(context__breakdown__has_key="segment", then=KT("context__breakdown__segment")),
        default=F(current),
        output_field=CharField(),
    )


# The group-by choices, and the field (or expression) of a handoff each reads, per kind.
GROUPINGS: dict[str, dict[str, str | Expression | None]] = {
    "lead": {
        "none": None,
        "lead_source": "contact__lead_source",
        "industry": "contact__account__industry",
        "tier": "contact__account__tier",
        "region": "contact__account__region",
        "model_version": "model_version__version",
        "month": "created_at",
        "segment": _segment_at_creation("contact__score__segment"),
    },
    "account": {
        "none": None,
        "industry": "account__industry",
        "tier": "account__tier",
        "region": "account__region",
        "model_version": "model_version__version",
        "month": "created_at",
        "segment": _segment_at_creation("account__score__segment"),
    },
}


class ReportQueryError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def funnel_report_get(
    *, kind: str, group_by: str = "none", start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """The funnel of lead (MQL) or account (MQA) handoffs created from `start` to `end`
    (both days included, UTC), grouped by `group_by` (`segment`: the record's segment when
    the handoff was created; no segment is the null group)."""
    if kind not in GROUPINGS:
        raise ReportQueryError("kind", f"kind must be one of {', '.join(GROUPINGS)}")
    if group_by not in GROUPINGS[kind]:
        raise ReportQueryError(
            "group_by", f"group_by for {kind} must be one of {', '.join(GROUPINGS[kind])}"
        )
    if start and end and start > end:
        raise ReportQueryError("from", "from must not be after to")
    field = GROUPINGS[kind][group_by]
    handoffs = Handoff.objects.filter(kind=kind)
    if start:
        handoffs = handoffs.filter(created_at__gte=_start_of(start))
    if end:
        handoffs = handoffs.filter(created_at__lt=_start_of(end + timedelta(days=1)))
    columns = ["status", "outcome", "reason", "created_at", "accepted_at", "due_at"]
    values = handoffs.values_list(
        *columns, "sla_breached_at", *([field] if field is not None else [])
    )
    rows = [
        HandoffRow(
            _group(group_by, row[7] if field is not None else None),
            *row[:7],
        )
        for row in values.order_by("id").iterator(chunk_size=5000)
    ]
    groups: list[str | None] = [None] if group_by == "none" else []
    if group_by == "month":
        created = [r.created_at.date() for r in rows]
        first, last = start or min(created, default=None), end or max(created, default=None)
        if first and last:
            groups = list(months_between(first, last))
    report = funnel_compute(
        rows,
        stages=LEAD_STAGES if kind == "lead" else ACCOUNT_STAGES,
        groups=groups,
        order=_order(group_by),
    )
    return {
        "kind": kind,
        "group_by": group_by,
        "from": start,
        "to": end,
        **report,
    }


def _group(group_by: str, value: Any) -> str | None:
    if group_by == "none":
        return None
    if group_by == "month":
        return f"{value.year:04d}-{value.month:02d}"
    if value is None or str(value).strip() == "":
        return None
    return str(value)


def _order(group_by: str) -> Any:
    if group_by in ("month", "model_version"):
        # Chronological; the ungrouped (null) last.
        return lambda key: (key is None, int(key) if group_by == "model_version" and key else key)
    return lambda key: (key is None, key or "")
