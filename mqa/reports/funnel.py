"""Funnel arithmetic over handoffs: stage counts, conversions, speed to lead, SLA, rejections.

Pure (no Django): selectors load one `HandoffRow` per handoff and call `funnel_compute`.

The cohort is the handoffs *created* in the period: every lead handoff is an MQL handed to
sales, every account handoff an MQA. A handoff reaches a stage when:

* `accepted`: it was accepted (outcomes are only recorded on accepted handoffs);
* `sql`: its outcome is `sql`, `opportunity`, `won` or `lost`;
* `opportunity`: its outcome is `opportunity`, `won` or `lost` (closed-lost, as in CRMs,
  ends an opportunity);
* `won`: its outcome is `won`.

A stage's conversion is its count over the previous stage's count, `overall` is the last stage
over the first; a rate over zero is `None` (null), never 0 or an error. Speed to lead is
accepted_at − created_at in hours over accepted handoffs: the median (mean of the two middle
values for an even count) and p90 by nearest rank. The SLA breach rate is breached over the
handoffs that had a due time.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

LEAD_STAGES = ("mql", "accepted", "sql", "opportunity", "won")
ACCOUNT_STAGES = ("mqa", "accepted", "won")
REACHES: dict[str, frozenset[str | None]] = {
    "sql": frozenset({"sql", "opportunity", "won", "lost"}),
    "opportunity": frozenset({"opportunity", "won", "lost"}),
    "won": frozenset({"won"}),
}
REASONS = (
    "wrong_fit",
    "wrong_industry",
    "no_need",
    "not_decision_maker",
    "bad_data",
    "duplicate",
    "timing",
    "competitor",
    "other",
)


@dataclass(frozen=True)
class HandoffRow:
    group: str | None
    status: str
    outcome: str | None
    reason: str | None
    created_at: datetime
    accepted_at: datetime | None
    due_at: datetime | None
    sla_breached_at: datetime | None


def rate(part: float, whole: float) -> float | None:
    """part / whole to 4 decimals; None over zero."""
    return round(part / whole, 4) if whole else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of `values` (p in (0, 100]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _reached(row: HandoffRow, stage: str, first: str) -> bool:
    if stage == first:
        return True
    if stage == "accepted":
        return row.status == "accepted"
    return row.status == "accepted" and row.outcome in REACHES[stage]


def funnel_of(rows: Sequence[HandoffRow], stages: Sequence[str]) -> dict[str, Any]:
    """The funnel figures of one group of handoffs."""
    counts = {stage: sum(1 for r in rows if _reached(r, stage, stages[0])) for stage in stages}
    conversion: dict[str, float | None] = {
        stage: rate(counts[stage], counts[previous])
        for previous, stage in itertools.pairwise(stages)
    }
    conversion["overall"] = rate(counts[stages[-1]], counts[stages[0]])
    hours = [
        (r.accepted_at - r.created_at).total_seconds() / 3600
        for r in rows
        if r.status == "accepted" and r.accepted_at is not None
    ]
    median = statistics.median(hours) if hours else None
    p90 = percentile(hours, 90)
    with_sla = [r for r in rows if r.due_at is not None]
    breached = sum(1 for r in with_sla if r.sla_breached_at is not None)
    rejected = [r for r in rows if r.status == "rejected"]
    return {
        "stages": counts,
        "conversion": conversion,
        "rejected": len(rejected),
        "rejection_reasons": {
            reason: sum(1 for r in rejected if r.reason == reason) for reason in REASONS
        },
        "speed_to_lead_hours": {
            "count": len(hours),
            "median": None if median is None else round(median, 4),
            "p90": None if p90 is None else round(p90, 4),
        },
        "sla": {"due": len(with_sla), "breached": breached, "rate": rate(breached, len(with_sla))},
    }


def months_between(first: date, last: date) -> list[str]:
    """Every month from `first` to `last` inclusive, as `YYYY-MM`."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def funnel_compute(
    rows: Iterable[HandoffRow],
    *,
    stages: Sequence[str],
    groups: Sequence[str | None] = (),
    order: Callable[[str | None], Any] | None = None,
) -> dict[str, Any]:
    """The whole report: totals plus one entry per group.

    `groups` lists groups to show even when no handoff falls in them (e.g. every month of
    the range), with zero counts and null rates.
    """
    rows = list(rows)
    by_group: dict[str | None, list[HandoffRow]] = {group: [] for group in groups}
    for row in rows:
        by_group.setdefault(row.group, []).append(row)
    keys = list(by_group)
    if order is not None:
        keys.sort(key=order)
    return {
        "stages": list(stages),
        "totals": funnel_of(rows, stages),
        "groups": [{"group": key, **funnel_of(by_group[key], stages)} for key in keys],
    }


def funnel_table(report: dict[str, Any]) -> list[list[Any]]:
    """The report flattened to rows (header first): one row per group, then the totals."""
    stages = report["stages"]
    header = [
        "group",
        *stages,
        *(f"{stage}_rate" for stage in stages[1:]),
        "overall_rate",
        "rejected",
        *(f"rejected_{reason}" for reason in REASONS),
        "speed_to_lead_median_hours",
        "speed_to_lead_p90_hours",
        "sla_due",
        "sla_breached",
        "sla_breach_rate",
    ]

    def line(name: Any, entry: dict[str, Any]) -> list[Any]:
        return [
            name,
            *(entry["stages"][s] for s in stages),
            *(entry["conversion"][s] for s in stages[1:]),
            entry["conversion"]["overall"],
            entry["rejected"],
            *(entry["rejection_reasons"][r] for r in REASONS),
            entry["speed_to_lead_hours"]["median"],
            entry["speed_to_lead_hours"]["p90"],
            entry["sla"]["due"],
            entry["sla"]["breached"],
            entry["sla"]["rate"],
        ]

    table = [header]
    table += [line(g["group"], g) for g in report["groups"]]
    table.append(line("(total)", report["totals"]))
    return table


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    # A client-sent text such as "=HYPERLINK(...)" must not run as a formula where the file is
    # opened in a spreadsheet (OWASP's CSV injection advice): it is quoted with a leading '.
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return out.getvalue()
