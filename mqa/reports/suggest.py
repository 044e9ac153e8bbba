"""Suggested weights: what the model's own rules are worth, learned from outcomes (issue 16).

On a backtest's contacts as rule rows (`mqa.reports.features`):

* **Split.** A seeded, stratified 70 / 30 split (`sklearn.model_selection.train_test_split`,
  `random_state=seed`); everything is learned on the 70% and judged on the 30%.
* **Fit.** An L2-regularised logistic regression (C = 1, lbfgs) on one column per rule of
  the model: fit rules matched (0/1), engagement rules' effective counts (points earned ÷ the
  rule's points, so a weight per count is a number of points) and disqualifiers (0/1).
* **Points.** Coefficients become integer points on the model's scale: the largest |coefficient|
  among the rules that change maps to the largest |points| of the model's fit and engagement
  rules, clamped to ±1000. A rule whose evidence is weak on the training part (fewer than
  `min_support` matches, or a conversion rate not told apart from the rest's:
  `mqa.reports.evidence`) keeps its points, and the table says why. Disqualifiers keep their meaning (they have no points).
* **Threshold.** `contact.thresholds.total` (and a segment's own total) becomes the total that
  maximises F1 on the training part under the suggested points, floors held as they are.
* **Comparison.** On the held-out 30%, for the version and the suggestion: ROC AUC and PR AUC
  (average precision) of the total (disqualified records ranked last), precision and recall
  of the top N where N is the version's MQL count on the held-out part (same MQL volume), and
  volume, conversion rate, recall and F1 at each one's threshold.
* **Guardrails.** No suggestion from fewer than `MQA_CALIBRATION_MIN_CONVERSIONS` (default 30)
  conversions, nor when the conversion rate of the training MQLs at the suggested total has a
  95% interval wider than `MQA_CALIBRATION_MAX_INTERVAL_WIDTH` (0.2): `SuggestionError` says
  why.

The suggested document is the version's document with only points and totals changed, and is
checked with `parse_document`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from mqa.reports.calibration import MAX_INTERVAL_WIDTH
from mqa.reports.evidence import (
    MIN_SUPPORT,
    account_evidence,
    learning_rows_get,
    rule_evidence,
    rule_labels,
    unused_values,
    wilson,
)
from mqa.reports.features import RuleRow, qualifies, rescored
from mqa.scoring import parse_document
from mqa.scoring.document import POINTS_LIMIT
from mqa.scoring.segments import contact_models
from mqa.scoring.types import ScoringModel

DEFAULT_SEED = 16
TEST_SHARE = 0.3
LAST = -1e12  # the ranking score of a disqualified record


class SuggestionError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


Key = tuple[str, str]


def feature_matrix(rows: Sequence[RuleRow], keys: Sequence[Key]) -> np.ndarray:
    """One row per record, one column per (kind, label)."""
    out = np.zeros((len(rows), len(keys)))
    for i, row in enumerate(rows):
        for j, (kind, label) in enumerate(keys):
            if kind == "fit":
                out[i, j] = label in row.fit
            elif kind == "engagement":
                out[i, j] = row.engagement.get(label, 0.0)
            else:
                out[i, j] = label in row.disqualifiers
    return out


def split(rows: Sequence[RuleRow], seed: int) -> tuple[list[int], list[int]]:
    """Indices of the training (70%) and held-out (30%) parts, stratified by outcome. The
    split is drawn over the rows ordered by key, so the same seed gives the same split however
    the rows were read."""
    indices = sorted(range(len(rows)), key=lambda i: rows[i].key)
    train, test = train_test_split(
        indices,
        test_size=TEST_SHARE,
        random_state=seed,
        stratify=[rows[i].converted for i in indices],
    )
    return sorted(train), sorted(test)


def fit_coefficients(x: np.ndarray, y: Sequence[bool], seed: int) -> np.ndarray:
    regression = LogisticRegression(C=1.0, max_iter=5000, random_state=seed)
    regression.fit(x, np.asarray(y, dtype=int))
    return np.asarray(regression.coef_[0])


def current_points(model: ScoringModel) -> dict[Key, int]:
    """Points per (kind, label): the first rule with the label, top level first."""
    out: dict[Key, int] = {}
    for contact in contact_models(model):
        for fit in contact.fit_rules:
            out.setdefault(("fit", fit.label), fit.points)
        for rule in contact.engagement_rules:
            out.setdefault(("engagement", rule.label), rule.points)
    return out


def suggested_points(
    current: Mapping[Key, int], coefficients: Mapping[Key, float], weak: Mapping[Key, str]
) -> dict[Key, int]:
    """Integer points: |coefficient| scaled so the largest one among the rules that change
    maps to the model's largest |points|; weak rules keep theirs."""
    changing = [k for k in current if k not in weak]
    top_points = max((abs(p) for p in current.values()), default=0)
    top_coef = max((abs(coefficients[k]) for k in changing), default=0.0)
    scale = top_points / top_coef if top_coef else 0.0
    out = dict(current)
    for key in changing:
        out[key] = int(max(-POINTS_LIMIT, min(POINTS_LIMIT, round(coefficients[key] * scale))))
    return out


def _by_kind(points: Mapping[Key, int], kind: str) -> dict[str, int]:
    return {label: p for (k, label), p in points.items() if k == kind}


def _scores(rows: Sequence[RuleRow], points: Mapping[Key, int]) -> list[tuple[int, float, float]]:
    fit, engagement = _by_kind(points, "fit"), _by_kind(points, "engagement")
    return [rescored(row, fit, engagement) for row in rows]


def best_threshold(rows: Sequence[RuleRow], scores: Sequence[tuple[int, float, float]]) -> float:
    """The total maximising F1 over these records (floors held); ties: the fewest MQLs."""
    converted = sum(1 for r in rows if r.converted)
    best, best_f1 = 0.0, -1.0
    for t in sorted({total for _, _, total in scores}, reverse=True):
        chosen = [r for r, (f, e, s) in zip(rows, scores, strict=True) if qualifies(r, f, e, s, t)]
        hits = sum(1 for r in chosen if r.converted)
        f1 = 2 * hits / (len(chosen) + converted) if chosen or converted else 0.0
        if f1 > best_f1:
            best, best_f1 = t, f1
    return best


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _figures(
    rows: Sequence[RuleRow], ranking: Sequence[float], mql: Sequence[bool], volume: int
) -> dict[str, Any]:
    y = [r.converted for r in rows]
    converted = sum(y)
    both = 0 < converted < len(y)
    order = sorted(range(len(rows)), key=lambda i: (-ranking[i], rows[i].key))
    top_hits = sum(1 for i in order[:volume] if y[i])
    chosen = sum(mql)
    hits = sum(1 for m, c in zip(mql, y, strict=True) if m and c)
    return {
        "roc_auc": _r(roc_auc_score(y, ranking)) if both else None,
        "pr_auc": _r(average_precision_score(y, ranking)) if both else None,
        "same_volume": {
            "volume": volume,
            "precision": _r(top_hits / volume) if volume else None,
            "recall": _r(top_hits / converted) if converted else None,
        },
        "at_threshold": {
            "volume": chosen,
            "converted": hits,
            "conversion_rate": _r(hits / chosen) if chosen else None,
            "recall": _r(hits / converted) if converted else None,
            "f1": _r(2 * hits / (chosen + converted)) if chosen + converted else None,
        },
    }


def _ranking(rows: Sequence[RuleRow], totals: Sequence[float]) -> list[float]:
    return [LAST if r.disqualifiers else t for r, t in zip(rows, totals, strict=True)]


def comparison(
    rows: Sequence[RuleRow], points: Mapping[Key, int], threshold: float
) -> dict[str, Any]:
    """The version (the engine's own scores and statuses) against the suggestion on `rows`."""
    volume = sum(1 for r in rows if r.mql)
    scores = _scores(rows, points)
    return {
        "version": _figures(
            rows, _ranking(rows, [r.score for r in rows]), [r.mql for r in rows], volume
        ),
        "suggestion": _figures(
            rows,
            _ranking(rows, [s for _, _, s in scores]),
            [qualifies(r, f, e, s, threshold) for r, (f, e, s) in zip(rows, scores, strict=True)],
            volume,
        ),
    }


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def suggested_document(
    document: Mapping[str, Any], points: Mapping[Key, int], threshold: float
) -> dict[str, Any]:
    """The document with these points per rule label and this total (top level, and each
    segment that gives its own); nothing else changes."""
    out = copy.deepcopy(dict(document))
    parts = [out.get("contact") or {}] + [s.get("contact") or {} for s in out.get("segments") or []]
    for i, contact in enumerate(parts):
        for item in (contact.get("fit") or {}).get("rules") or []:
            label = item.get("label") or f"{item.get('attribute')} {item.get('op')}"
            item["points"] = points.get(("fit", label), item["points"])
        for item in (contact.get("engagement") or {}).get("rules") or []:
            label = item.get("label") or item.get("event_type")
            item["points"] = points.get(("engagement", label), item["points"])
        thresholds = contact.get("thresholds")
        if isinstance(thresholds, dict) and (i == 0 or "total" in thresholds):
            thresholds["total"] = _number(threshold)
    parse_document(out)  # raises DocumentError if the result were not a valid model
    return out


def suggestion_from_rows(
    model: ScoringModel,
    document: Mapping[str, Any],
    rows: Sequence[RuleRow],
    *,
    seed: int = DEFAULT_SEED,
    min_conversions: int = 30,
    min_support: int = MIN_SUPPORT,
    max_interval_width: float = MAX_INTERVAL_WIDTH,
) -> dict[str, Any]:
    """Evidence (all records), the suggestion (training part) and the comparison (held out).
    Refused (`SuggestionError`) below `min_conversions`, or when the conversion rate of the
    training part's MQLs at the suggested total has a 95% interval wider than
    `max_interval_width`: too few of them to tell that rate."""
    conversions = sum(1 for r in rows if r.converted)
    if conversions < min_conversions:
        raise SuggestionError(
            f"{conversions} conversions in the backtest; a suggestion needs at least "
            f"{min_conversions} (a later cut-off, a longer horizon or the 'sql' label may "
            "give more)"
        )
    if conversions == len(rows):
        raise SuggestionError("every record converted; there is nothing to tell apart")
    train_ix, test_ix = split(rows, seed)
    train = [rows[i] for i in train_ix]
    test = [rows[i] for i in test_ix]
    keys = rule_labels(model)
    coefficients = dict(
        zip(
            keys,
            fit_coefficients(feature_matrix(train, keys), [r.converted for r in train], seed),
            strict=True,
        )
    )
    train_evidence = {
        (e["kind"], e["rule"]): e for e in rule_evidence(model, train, min_support=min_support)
    }
    current = current_points(model)
    weak = {k: train_evidence[k]["weak"] for k in current if train_evidence[k]["weak"]}
    points = suggested_points(current, coefficients, weak)
    threshold = best_threshold(train, _scores(train, points))
    chosen = [
        r.converted
        for r, (f, e, s) in zip(train, _scores(train, points), strict=True)
        if qualifies(r, f, e, s, threshold)
    ]
    interval = wilson(sum(chosen), len(chosen))
    if interval is None or interval[1] - interval[0] > max_interval_width:
        span = f"{interval[0]:.3f} to {interval[1]:.3f}" if interval else "undefined"
        raise SuggestionError(
            f"the conversion rate of the {len(chosen)} training MQLs at the suggested total "
            f"{_number(threshold)} ({sum(chosen)} converted) has a 95% interval of {span}, "
            f"wider than {max_interval_width}: too uncertain to suggest points"
        )
    old_total = model.contact.thresholds.total
    table = [
        {
            "kind": kind,
            "rule": label,
            "points": current.get((kind, label)),
            "suggested": points.get((kind, label)),
            "coefficient": round(float(coefficients[(kind, label)]), 4),
            "kept": weak.get((kind, label)),
        }
        for kind, label in keys
    ]
    return {
        "split": {
            "seed": seed,
            "train": len(train),
            "held_out": len(test),
            "train_conversions": sum(1 for r in train if r.converted),
            "held_out_conversions": sum(1 for r in test if r.converted),
            "stratified": True,
        },
        "evidence": rule_evidence(model, rows, min_support=min_support),
        "unused_values": unused_values(model, rows, min_support=min_support),
        "suggestion": {
            "rules": table,
            "threshold": {
                "path": "contact.thresholds.total",
                "current": _number(old_total),
                "suggested": _number(threshold),
                "goal": "the highest F1 on the training part, floors held",
                "training_mqls": len(chosen),
                "interval": [round(interval[0], 4), round(interval[1], 4)],
            },
            "document": suggested_document(document, points, threshold),
        },
        "comparison": comparison(test, points, threshold),
    }


def calibration_learning(
    *,
    cutoff: datetime,
    horizon_days: int,
    label: str = "won",
    version_id: int | None = None,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """The backtest's records as of `cutoff` → evidence (contacts and accounts) and values no
    rule uses, always; the suggested weights and the comparison unless the suggestion is
    refused, when `refused` says why (evidence needs no minimum)."""
    learning = learning_rows_get(
        cutoff=cutoff, horizon_days=horizon_days, label=label, version_id=version_id
    )
    model, rows = learning.model, learning.rows
    head = {
        "cutoff": cutoff,
        "horizon_days": horizon_days,
        "label": label,
        "model_version": learning.version.version,
        "version_id": learning.version.id,
        "records": len(rows),
        "account_evidence": account_evidence(model, learning.accounts),
    }
    try:
        result = suggestion_from_rows(
            model,
            learning.version.document,
            rows,
            seed=seed,
            min_conversions=getattr(settings, "MQA_CALIBRATION_MIN_CONVERSIONS", 30),
            max_interval_width=settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH,
        )
    except SuggestionError as error:
        return {
            **head,
            "evidence": rule_evidence(model, rows),
            "unused_values": unused_values(model, rows),
            "refused": str(error),
        }
    return {**head, **result, "refused": None}


def calibration_suggestion(
    *,
    cutoff: datetime,
    horizon_days: int,
    label: str = "won",
    version_id: int | None = None,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """The backtest's contacts as of `cutoff` → evidence, suggested weights, comparison;
    `SuggestionError` when the suggestion is refused."""
    result = calibration_learning(
        cutoff=cutoff, horizon_days=horizon_days, label=label, version_id=version_id, seed=seed
    )
    refused = result.pop("refused")
    if refused:
        raise SuggestionError(refused)
    return result
