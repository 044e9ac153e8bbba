"""Threshold calibration arithmetic over backtested scores. Pure (no Django).

A backtest scores every record as of a cut-off T (only what happened before T) and labels it
converted when its outcome came within the horizon after T. Here, for each candidate
threshold: how many records would qualify (volume), how many of them converted, their
conversion rate, the share of all conversions they capture (recall), the lift over the base
rate, and F1. A rate over zero records is None. Every figure is computed from exact counts
and rounded to 4 decimals only when stored (lift is conversions/volume over base
conversions/population, never a ratio of rounded rates).

Guardrails: no threshold is recommended (`recommended` None, `refused` the reason) from fewer
than `min_conversions` conversions among the records, nor when the 95% Wilson interval of the
conversion rate at the recommended point is wider than `max_interval_width`
(`MAX_INTERVAL_WIDTH` = 0.2 by default: the data cannot tell that rate from one 20 points
away). The same applies to each floor's recommendation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mqa.reports.funnel import rate

MAX_INTERVAL_WIDTH = 0.2
Z95 = 1.959963984540054  # the standard normal's 97.5th percentile


@dataclass(frozen=True)
class Scored:
    """One record's backtested score: `score` is what the threshold under study is compared
    with (contact: fit + engagement; account: engagement); `qualifies_otherwise` says whether
    every other criterion of the record's own model holds (not disqualified, floors, committee
    rules); `segment` names the segment whose effective model scored it (None for none)."""

    key: str
    score: float
    qualifies_otherwise: bool
    converted: bool
    fit: float = 0.0
    engagement: float = 0.0
    eligible: bool = True
    segment: str | None = None


def candidates(scores: Sequence[float], most: int = 200) -> list[float]:
    """Whole-number thresholds from 1 up to the highest score, at most `most` of them."""
    top = math.ceil(max(scores, default=0.0))
    step = max(1, math.ceil(top / most))
    return [float(t) for t in range(step if step > 1 else 1, top + 1, step)] or [1.0]


def curve(
    records: Sequence[Scored], thresholds: Sequence[float], passes: Callable[[Scored, float], bool]
) -> list[dict[str, Any]]:
    converted = sum(1 for r in records if r.converted)
    points = []
    for t in thresholds:
        chosen = [r for r in records if passes(r, t)]
        hits = sum(1 for r in chosen if r.converted)
        conversion = rate(hits, len(chosen))
        recall = rate(hits, converted)
        f1 = rate(2 * hits, len(chosen) + converted)  # = 2PR / (P + R)
        points.append(
            {
                "threshold": t,
                "volume": len(chosen),
                "converted": hits,
                "conversion_rate": conversion,
                "captured": recall,
                "lift": rate(hits * len(records), len(chosen) * converted) if chosen else None,
                "f1": f1,
            }
        )
    return points


def recommend(
    points: Sequence[dict[str, Any]],
    *,
    goal: str,
    current: float,
    target_rate: float | None = None,
) -> dict[str, Any] | None:
    """The best point for the goal: `f1` (highest F1, then the larger volume), or `rate`
    (the largest volume whose conversion rate reaches `target_rate`). Among equals, the
    threshold nearest the current one: the data gives no reason to move further. None when
    no point qualifies."""

    def nearest(p: dict[str, Any]) -> float:
        return -abs(p["threshold"] - current)

    if goal == "f1":
        scored = [p for p in points if p["f1"] is not None and p["volume"]]
        return max(scored, key=lambda p: (p["f1"], p["volume"], nearest(p)), default=None)
    if goal == "rate":
        if target_rate is None:
            raise ValueError("goal 'rate' needs a target_rate")
        reaching = [
            p
            for p in points
            if p["conversion_rate"] is not None and p["conversion_rate"] >= target_rate
        ]
        return max(reaching, key=lambda p: (p["volume"], nearest(p)), default=None)
    raise ValueError("goal must be 'f1' or 'rate'")


def wilson_interval(hits: int, volume: int) -> tuple[float, float] | None:
    """The 95% Wilson score interval of the rate hits / volume; None over zero records."""
    if not volume:
        return None
    p, z2 = hits / volume, Z95 * Z95
    centre = (p + z2 / (2 * volume)) / (1 + z2 / volume)
    half = Z95 * math.sqrt(p * (1 - p) / volume + z2 / (4 * volume * volume)) / (1 + z2 / volume)
    return max(0.0, centre - half), min(1.0, centre + half)


def guarded(
    point: dict[str, Any] | None,
    *,
    converted: int,
    min_conversions: int,
    max_interval_width: float,
) -> dict[str, Any]:
    """The recommendation if the guardrails allow it: `recommended` (the point or None),
    `recommended_interval` (its 95% conversion-rate interval, rounded) and `refused` (why no
    recommendation is made, None when it is or when no point reaches the goal)."""
    if converted < min_conversions:
        many = "conversion" if converted == 1 else "conversions"
        refused = (
            f"only {converted} {many} in the horizon; at least {min_conversions} are needed"
            " to recommend a threshold"
        )
        return {"recommended": None, "recommended_interval": None, "refused": refused}
    if point is None:
        return {"recommended": None, "recommended_interval": None, "refused": None}
    interval = wilson_interval(point["converted"], point["volume"])
    assert interval is not None  # a recommended point selects at least one record
    low, high = interval
    if high - low > max_interval_width:
        refused = (
            f"the conversion rate at {point['threshold']:g} ({point['converted']} of"
            f" {point['volume']}) has a 95% interval of {low:.3f} to {high:.3f}, wider than"
            f" {max_interval_width:g}: too uncertain to recommend a threshold"
        )
        return {"recommended": None, "recommended_interval": None, "refused": refused}
    return {
        "recommended": point,
        "recommended_interval": [round(low, 4), round(high, 4)],
        "refused": None,
    }


def deciles(records: Sequence[Scored]) -> list[dict[str, Any]]:
    """Conversion by score decile (1 = lowest scores); ties may straddle deciles."""
    ordered = sorted(records, key=lambda r: (r.score, r.key))
    n = len(ordered)
    out = []
    for d in range(10):
        part = ordered[d * n // 10 : (d + 1) * n // 10]
        hits = sum(1 for r in part if r.converted)
        out.append(
            {
                "decile": d + 1,
                "count": len(part),
                "min_score": part[0].score if part else None,
                "max_score": part[-1].score if part else None,
                "converted": hits,
                "conversion_rate": rate(hits, len(part)),
            }
        )
    return out


def distribution(records: Sequence[Scored], bins: int = 20) -> dict[str, Any]:
    """Score histogram by outcome: equal-width bins from 0 to the highest score."""
    top = max((r.score for r in records), default=0.0)
    width = max(top, 1.0) / bins
    converted, other = [0] * bins, [0] * bins
    for r in records:
        index = min(bins - 1, max(0, int(r.score // width)))
        (converted if r.converted else other)[index] += 1
    return {
        "edges": [round(i * width, 2) for i in range(bins + 1)],
        "converted": converted,
        "not_converted": other,
    }


def calibration_summary(
    records: Sequence[Scored],
    *,
    current: float,
    goal: str,
    target_rate: float | None = None,
    floors: dict[str, tuple[float, Callable[[Scored, float], bool], list[float]]] | None = None,
    min_conversions: int,
    max_interval_width: float = MAX_INTERVAL_WIDTH,
) -> dict[str, Any]:
    """Everything the calibration page shows for one kind of record: the threshold's curve
    and its guarded recommendation, then each floor's (`floors`: name → its current value,
    whether a record passes at a floor, the values the floor's candidates come from)."""
    thresholds = candidates([r.score for r in records])
    if current not in thresholds:
        thresholds = sorted({*thresholds, float(current)})
    total_curve = curve(records, thresholds, lambda r, t: r.qualifies_otherwise and r.score >= t)
    converted = sum(1 for r in records if r.converted)

    def recommendation(points: list[dict[str, Any]], at: float) -> dict[str, Any]:
        best = recommend(points, goal=goal, current=float(at), target_rate=target_rate)
        return guarded(
            best,
            converted=converted,
            min_conversions=min_conversions,
            max_interval_width=max_interval_width,
        )

    floor_curves = {
        name: (value, curve(records, sorted({0.0, float(value), *candidates(values)}), passes))
        for name, (value, passes, values) in (floors or {}).items()
    }
    return {
        "population": len(records),
        "converted": converted,
        "base_rate": rate(converted, len(records)),
        "current": next(p for p in total_curve if p["threshold"] == float(current)),
        **recommendation(total_curve, current),
        "curve": total_curve,
        "floors": {
            name: {"current": value, **recommendation(points, value), "curve": points}
            for name, (value, points) in floor_curves.items()
        },
        "deciles": deciles(records),
        "distribution": distribution(records),
    }
