"""Per-rule evidence: which of a model's rules predict conversion, and which attribute values
with signal no rule uses (issue 16).

Over a backtest's contacts as rule rows (`mqa.reports.features`), for every fit rule,
engagement rule and disqualifier of the model (in any segment): how many records it matched
(an engagement rule: earned any points), how many of them converted, their conversion rate
against the rest, the lift over the base rate, a Wilson 95% interval of the matched rate and
the share of all conversions it touches. Rates and lifts are computed from the exact counts
(fractions) and rounded once, to 4 decimals, on the way out.

Evidence is *weak* when fewer than `min_support` records matched, or when the conversion rate
of the matched records is not told apart from the rest's: the 95% interval of the difference
of the two rates (Newcombe's hybrid score interval, from the two Wilson intervals) includes 0.
The difference to the rest, not to the base rate: a rule that matches most records has a
matched rate close to the base rate however strongly it separates. A suggestion leaves weak
rules at their points.

Everything but `learning_rows_get` (the one selector, which reads the database) is a pure
function of its arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from mqa.models import ScoringModelVersion
from mqa.reports.backtest import (
    LABELS,
    BacktestError,
    backtest_population,
    backtest_version,
)
from mqa.reports.features import (
    CRITERIA,
    AccountRow,
    RuleRow,
    account_row,
    attributes_of,
    rule_row,
)
from mqa.scoring.operators import evaluate
from mqa.scoring.segments import account_models, contact_models
from mqa.scoring.types import Condition, ScoringModel
from mqa.services.facts import contact_facts

Z95 = 1.959963984540054
MIN_SUPPORT = 30
MIN_LIFT = 1.5


def _round(value: Fraction | float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _ratio(hits: int, n: int) -> Fraction | None:
    return Fraction(hits, n) if n else None


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of `hits / n` (None for n = 0)."""
    if n == 0:
        return None
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(hits: int, n: int, other_hits: int, other_n: int) -> tuple[float, float] | None:
    """The 95% interval of `hits/n − other_hits/other_n` (Newcombe 1998, method 10: the hybrid
    score interval built from the two Wilson intervals); None when either group is empty."""
    first, second = wilson(hits, n), wilson(other_hits, other_n)
    if first is None or second is None:
        return None
    p1, p2 = hits / n, other_hits / other_n
    (l1, u1), (l2, u2) = first, second
    d = p1 - p2
    return d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


def _figures(
    matched: Sequence[RuleRow | AccountRow], hits_total: int, n_total: int, min_support: int
) -> dict[str, Any]:
    n = len(matched)
    hits = sum(1 for r in matched if r.converted)
    base = _ratio(hits_total, n_total)
    rate = _ratio(hits, n)
    rest = _ratio(hits_total - hits, n_total - n)
    interval = wilson(hits, n)
    difference = newcombe(hits, n, hits_total - hits, n_total - n)
    if n < min_support:
        weak: str | None = f"only {n} records matched (fewer than {min_support})"
    elif difference is None:
        weak = "it matched every record: there is no rest to compare with"
    elif difference[0] <= 0 <= difference[1]:
        weak = "its conversion rate is not told apart from the rest's (95% interval of the difference includes 0)"
    else:
        weak = None
    return {
        "matched": n,
        "converted": hits,
        "conversion_rate": _round(rate),
        "rest_conversion_rate": _round(rest),
        "lift": _round(rate / base) if rate is not None and base else None,
        "interval": [round(interval[0], 4), round(interval[1], 4)] if interval else None,
        "difference_interval": (
            [round(difference[0], 4), round(difference[1], 4)] if difference else None
        ),
        "conversion_share": _round(_ratio(hits, hits_total)),
        "weak": weak,
    }


def rule_labels(model: ScoringModel) -> list[tuple[str, str]]:
    """(kind, label) of every contact rule of the model, document order, top level first."""
    seen: dict[tuple[str, str], None] = {}
    for contact in contact_models(model):
        for fit in contact.fit_rules:
            seen[("fit", fit.label)] = None
        for rule in contact.engagement_rules:
            seen[("engagement", rule.label)] = None
        for disqualifier in contact.disqualifiers:
            seen[("disqualifier", disqualifier.reason)] = None
    return list(seen)


def _matcher(kind: str, label: str) -> Callable[[RuleRow], bool]:
    if kind == "fit":
        return lambda r: label in r.fit
    if kind == "engagement":
        return lambda r: r.engagement.get(label, 0.0) > 0
    return lambda r: label in r.disqualifiers


def _evidence(
    labels: Sequence[tuple[str, str]],
    matcher: Callable[[str, str], Callable[[Any], bool]],
    rows: Sequence[Any],
    min_support: int,
) -> list[dict[str, Any]]:
    hits_total = sum(1 for r in rows if r.converted)
    out = []
    for kind, label in labels:
        matches = matcher(kind, label)
        matched = [r for r in rows if matches(r)]
        out.append(
            {"kind": kind, "rule": label, **_figures(matched, hits_total, len(rows), min_support)}
        )
    return sorted(out, key=lambda e: (e["lift"] is None, -(e["lift"] or 0.0)))


def rule_evidence(
    model: ScoringModel, rows: Sequence[RuleRow], *, min_support: int = MIN_SUPPORT
) -> list[dict[str, Any]]:
    """Every rule's evidence, highest lift first (rules that matched nothing last)."""
    return _evidence(rule_labels(model), _matcher, rows, min_support)


def account_rule_labels(model: ScoringModel) -> list[tuple[str, str]]:
    """(kind, label) of every account fit rule, signal rule and disqualifier of the model (in
    any segment), then each MQA criterion."""
    seen: dict[tuple[str, str], None] = {}
    for account in account_models(model):
        for fit in account.fit_rules:
            seen[("account_fit", fit.label)] = None
        for rule in account.signal_rules:
            seen[("signal", rule.label)] = None
        for disqualifier in account.disqualifiers:
            seen[("account_disqualifier", disqualifier.reason)] = None
    return [*seen, *(("criterion", c) for c in CRITERIA)]


def _account_matcher(kind: str, label: str) -> Callable[[AccountRow], bool]:
    if kind == "account_fit":
        return lambda r: label in r.fit
    if kind == "signal":
        return lambda r: label in r.signals
    if kind == "account_disqualifier":
        return lambda r: label in r.disqualifiers
    return lambda r: label in r.met


def account_evidence(
    model: ScoringModel, rows: Sequence[AccountRow], *, min_support: int = MIN_SUPPORT
) -> list[dict[str, Any]]:
    """The evidence of every account rule and MQA criterion (a criterion "matches" the
    accounts that met it as of the cut-off), highest lift first."""
    return _evidence(account_rule_labels(model), _account_matcher, rows, min_support)


def _conditions(model: ScoringModel) -> list[Condition]:
    """Every condition of a contact fit rule or disqualifier, and of an account one read as
    the contact's `account.` attribute."""
    out = []
    for contact in contact_models(model):
        out += [rule.condition for rule in contact.fit_rules]
        out += [d.condition for d in contact.disqualifiers]
    for account in account_models(model):
        for c in [r.condition for r in account.fit_rules] + [
            d.condition for d in account.disqualifiers
        ]:
            out.append(Condition(f"account.{c.attribute}", c.op, c.value))
    return out


def _used(conditions: Iterable[Condition], attribute: str, value: str) -> bool:
    return any(c.attribute == attribute and evaluate(c.op, value, c.value) for c in conditions)


def unused_values(
    model: ScoringModel,
    rows: Sequence[RuleRow],
    *,
    min_support: int = MIN_SUPPORT,
    min_lift: float = MIN_LIFT,
) -> list[dict[str, Any]]:
    """Attribute values with at least `min_support` records, a lift of at least `min_lift`
    and an interval above the base rate that no rule's condition on the attribute matches,
    highest lift first."""
    hits_total = sum(1 for r in rows if r.converted)
    if not hits_total:
        return []
    groups: dict[tuple[str, str], list[RuleRow]] = {}
    for row in rows:
        for attribute, value in row.attributes.items():
            groups.setdefault((attribute, value), []).append(row)
    conditions = _conditions(model)
    base = Fraction(hits_total, len(rows))
    out = []
    for (attribute, value), matched in groups.items():
        hits = sum(1 for r in matched if r.converted)
        lift = Fraction(hits, len(matched)) / base
        interval = wilson(hits, len(matched))
        if (
            len(matched) < min_support
            or lift < Fraction(min_lift)
            or interval is None
            or interval[0] <= base
            or _used(conditions, attribute, value)
        ):
            continue
        figures = _figures(matched, hits_total, len(rows), min_support)
        out.append(
            {
                "attribute": attribute,
                "value": value,
                **figures,
                "text": (
                    f"`{attribute} = {value}`: {float(lift):.1f}× lift, "
                    f"{len(matched)} leads, no rule"
                ),
            }
        )
    return sorted(out, key=lambda e: (-e["lift"], e["attribute"], e["value"]))


@dataclass(frozen=True)
class Learning:
    version: ScoringModelVersion
    model: ScoringModel
    rows: list[RuleRow]
    accounts: list[AccountRow]


def learning_rows_get(
    *, cutoff: datetime, horizon_days: int, label: str = "won", version_id: int | None = None
) -> Learning:
    """The backtest's contact and account populations as rule rows (active version unless
    `version_id`), scored and labelled as `calibration_backtest` does."""
    if label not in LABELS:
        raise BacktestError("label", f"label must be one of {', '.join(LABELS)}")
    if horizon_days < 1:
        raise BacktestError("horizon_days", "must be at least 1")
    version, model = backtest_version(version_id)
    rows, accounts = [], []
    for record in backtest_population(
        model=model, cutoff=cutoff, horizon_days=horizon_days, label=label
    ):
        if record.converted is None:
            continue
        if record.contact is not None:
            attributes = attributes_of(contact_facts(record.contact))
            rows.append(
                rule_row(
                    model,
                    record.contact_result,
                    key=record.key,
                    converted=record.converted,
                    attributes=attributes,
                )
            )
        else:
            accounts.append(
                account_row(record.account_result, key=record.key, converted=record.converted)
            )
    return Learning(version=version, model=model, rows=rows, accounts=accounts)
