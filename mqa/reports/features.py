"""The model's own rules as features of each backtested contact, for learning from outcomes.

A `RuleRow` is one contact of a calibration backtest's population (SPEC §3–§4 scores as of
the cut-off T, only activities before T; converted within the horizon after T — the same
population and labels as `mqa.reports.backtest`), reduced to plain data:

* `fit`: the labels of the fit rules that matched (1 each);
* `engagement`: per engagement rule label, the *effective count* it earned — its decayed,
  `max_count`-limited points divided by the rule's points — so that `count × points` is what
  the rule adds with any points, and a learned weight per count is a number of points;
* `disqualifiers`: the reasons that matched;
* `attributes`: the contact's categorical fields (lower-cased, trimmed) for values no rule
  uses yet.

`rescored` recomputes a row's total with other points (same caps, no change of events), what
a suggested model would give it. Pure: no Django (`mqa.reports.evidence.learning_rows_get`
reads the database).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mqa.scoring.operators import WHITESPACE
from mqa.scoring.segments import contact_model, segment_named
from mqa.scoring.types import (
    AccountResult,
    ContactResult,
    ContactThresholds,
    ScoringModel,
    round_score,
)

NO_THRESHOLDS = ContactThresholds(total=0)

# Categorical contact attributes worth looking for unused values in (title is too free-form).
ATTRIBUTES = (
    "seniority",
    "job_function",
    "buying_role",
    "country",
    "lead_source",
    "account.industry",
    "account.tier",
    "account.country",
    "account.region",
)


@dataclass(frozen=True)
class RuleRow:
    key: str
    converted: bool
    fit: frozenset[str] = frozenset()
    engagement: Mapping[str, float] = field(default_factory=dict)
    disqualifiers: tuple[str, ...] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)
    fit_cap: int = 100
    engagement_cap: int = 100
    thresholds: ContactThresholds = NO_THRESHOLDS
    score: float = 0.0  # the engine's total as of the cut-off
    mql: bool = False  # the engine's status as of the cut-off


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip(WHITESPACE):
        return None
    return value.strip(WHITESPACE).lower()


def attributes_of(facts: Mapping[str, Any]) -> dict[str, str]:
    account = facts.get("account") or {}
    out = {}
    for name in ATTRIBUTES:
        raw = account.get(name[8:]) if name.startswith("account.") else facts.get(name)
        if (value := _text(raw)) is not None:
            out[name] = value
    return out


def rule_row(
    model: ScoringModel,
    result: ContactResult,
    *,
    key: str,
    converted: bool,
    attributes: Mapping[str, str],
) -> RuleRow:
    """A contact's result as rule features (the rules of its segment's effective model)."""
    own = contact_model(model, segment_named(model, result.segment))
    points = {rule.label: rule.points for rule in own.engagement_rules}
    engagement: dict[str, float] = {}
    for item in result.breakdown["engagement"]:
        per = points.get(item["label"]) or 0
        if per:
            engagement[item["label"]] = engagement.get(item["label"], 0.0) + item["points"] / per
    return RuleRow(
        key=key,
        converted=converted,
        fit=frozenset(item["label"] for item in result.breakdown["fit"]),
        engagement=engagement,
        disqualifiers=tuple(result.disqualified_reasons),
        attributes=dict(attributes),
        fit_cap=own.fit_cap,
        engagement_cap=own.engagement_cap,
        thresholds=own.thresholds,
        score=result.total,
        mql=result.status == "mql",
    )


def rescored(
    row: RuleRow, fit_points: Mapping[str, int], engagement_points: Mapping[str, int]
) -> tuple[int, float, float]:
    """(fit, engagement, total) of the row with these points per label (the engine's caps)."""
    fit = sum(fit_points.get(label, 0) for label in row.fit)
    fit = int(max(0, min(row.fit_cap, fit)))
    raw = sum(count * engagement_points.get(label, 0) for label, count in row.engagement.items())
    engagement = round_score(max(0.0, min(float(row.engagement_cap), raw)))
    return fit, engagement, round_score(fit + engagement)


def qualifies(row: RuleRow, fit: float, engagement: float, total: float, threshold: float) -> bool:
    """MQL under the row's own floors with `threshold` as the total (SPEC §4)."""
    t = row.thresholds
    return (
        not row.disqualifiers
        and fit >= t.fit_floor
        and engagement >= t.engagement_floor
        and total >= threshold
    )


# The MQA criteria of SPEC §4, in the order an account's `missing` names them.
CRITERIA = (
    "fit_floor",
    "min_engaged_contacts",
    "min_roles",
    "required_roles",
    "engagement",
    "min_mql_contacts",
)


@dataclass(frozen=True)
class AccountRow:
    """One account of the backtest: its account fit rules and signal rules that earned points,
    its disqualifying reasons, the MQA criteria it met as of the cut-off, and its outcome."""

    key: str
    converted: bool
    fit: frozenset[str] = frozenset()
    signals: frozenset[str] = frozenset()
    disqualifiers: tuple[str, ...] = ()
    met: frozenset[str] = frozenset()


def account_row(result: AccountResult, *, key: str, converted: bool) -> AccountRow:
    missing = {item["criterion"] for item in result.missing}
    return AccountRow(
        key=key,
        converted=converted,
        fit=frozenset(item["label"] for item in result.breakdown["fit"]),
        signals=frozenset(item["label"] for item in result.breakdown["signals"]),
        disqualifiers=tuple(result.disqualified_reasons),
        met=frozenset(c for c in CRITERIA if c not in missing),
    )
