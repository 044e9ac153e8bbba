"""The real Olist leads (../shared/data/olist, not in the repository): per-rule evidence, the
suggested weights and the held-out comparison quoted in docs/calibration-olist.md §4,
recomputed independently from the CSV files and the rules of docs/olist/model.json.

The independent side reads the two CSV files with `csv`, applies the model's rules by hand
(origin sets; 60 points halving every 14 days, counted for 180 days, as of the cut-off in
America/Sao_Paulo), labels a lead converted when its deal was won within 90 days after the
cut-off, and uses sklearn directly. Evidence is weak, as the product defines it, when fewer
than 30 leads matched, when the rule matched every lead, or when the 95% interval of the
difference between the matched leads' conversion rate and the rest's (Newcombe's hybrid score
interval, method 10, from two Wilson intervals, both computed here) includes 0. The seeded
70/30 split is drawn here over the leads ordered by key (email), as the product draws it; nothing
is taken from the product but the figures it is checked against."""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import call_command
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from mqa.reports.backtest import calibration_backtest
from mqa.reports.evidence import learning_rows_get
from mqa.reports.suggest import calibration_suggestion
from mqa.services.model_versions import scoring_model_import
from tests.reports.test_olist import DATA, ROOT

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"no Olist data at {DATA}"),
]

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
CUTOFF = datetime(2018, 3, 1, tzinfo=SAO_PAULO)
HORIZON = timedelta(days=90)
SEARCH = {"organic_search", "paid_search", "direct_traffic"}
Z95 = 1.959963984540054


def _round2(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def olist_leads() -> dict[str, dict]:
    """The backtest population by email, straight from the CSV files: first contact before
    the cut-off, not won by it; the rules' features, the score and the label."""
    won = {
        row["mql_id"]: datetime.fromisoformat(row["won_date"]).replace(tzinfo=SAO_PAULO)
        for row in csv.DictReader((DATA / "olist_closed_deals_dataset.csv").open())
    }
    leads = {}
    for row in csv.DictReader((DATA / "olist_marketing_qualified_leads_dataset.csv").open()):
        first = datetime.fromisoformat(row["first_contact_date"]).replace(tzinfo=SAO_PAULO)
        won_at = won.get(row["mql_id"])
        if first >= CUTOFF or (won_at is not None and won_at <= CUTOFF):
            continue
        # In UTC: aware datetimes sharing a tzinfo subtract as wall-clock times, which would
        # lose Brazil's daylight-saving hour (2017-10-15 .. 2018-02-17).
        age_days = (CUTOFF.astimezone(UTC) - first.astimezone(UTC)).total_seconds() / 86400
        first_contact = _round2(60 * 0.5 ** (age_days / 14)) if age_days <= 180 else 0.0
        search, referral = row["origin"] in SEARCH, row["origin"] == "referral"
        leads[f"{row['mql_id']}@mql.olist.invalid"] = {
            "Search or direct": search,
            "Referral": referral,
            "count": first_contact / 60,
            "score": _round2(20 * search + 10 * referral + first_contact),
            "converted": won_at is not None and won_at <= CUTOFF + HORIZON,
        }
    return leads


NOT_APART = (
    "its conversion rate is not told apart from the rest's (95% interval of the difference "
    "includes 0)"
)


def wilson(hits: int, n: int) -> tuple[float, float]:
    """Wilson score 95% interval of hits / n (Wilson 1927)."""
    p, z2 = hits / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def newcombe(hits1: int, n1: int, hits2: int, n2: int) -> tuple[float, float]:
    """95% interval of hits1/n1 − hits2/n2: Newcombe (1998) method 10, the hybrid score
    interval from the two Wilson intervals."""
    p1, p2 = hits1 / n1, hits2 / n2
    (l1, u1), (l2, u2) = wilson(hits1, n1), wilson(hits2, n2)
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def matches(lead: dict, rule: str) -> bool:
    return lead["count"] > 0 if rule == "First contact" else lead[rule]


def evidence_of(leads: dict[str, dict], rule: str) -> dict:
    matched = [lead for lead in leads.values() if matches(lead, rule)]
    n, hits = len(matched), sum(lead["converted"] for lead in matched)
    total = sum(lead["converted"] for lead in leads.values())
    rest_n, rest_hits = len(leads) - n, total - hits
    base = total / len(leads)
    low, high = wilson(hits, n)
    difference = newcombe(hits, n, rest_hits, rest_n) if rest_n else None
    if n < 30:
        weak: str | None = f"only {n} records matched (fewer than 30)"
    elif difference is None:
        weak = "it matched every record: there is no rest to compare with"
    else:
        weak = NOT_APART if difference[0] <= 0 <= difference[1] else None
    return {
        "matched": n,
        "converted": hits,
        "conversion_rate": round(hits / n, 4),
        "rest_conversion_rate": round(rest_hits / rest_n, 4) if rest_n else None,
        "lift": round(hits / n / base, 4),
        "interval": [round(low, 4), round(high, 4)],
        "difference_interval": (
            [round(difference[0], 4), round(difference[1], 4)] if difference else None
        ),
        "conversion_share": round(hits / total, 4),
        "weak": weak,
    }


def best_f1_threshold(keys: list[str], leads: dict[str, dict]) -> float:
    """The total with the highest F1 on these leads (no floors, no disqualifiers in the
    model); on a tie the higher total (fewer MQLs)."""
    converted = sum(leads[k]["converted"] for k in keys)
    best, best_f1 = 0.0, -1.0
    for t in sorted({leads[k]["score"] for k in keys}, reverse=True):
        chosen = [k for k in keys if leads[k]["score"] >= t]
        f1 = 2 * sum(leads[k]["converted"] for k in chosen) / (len(chosen) + converted)
        if f1 > best_f1:
            best, best_f1 = t, f1
    return best


def held_out_figures(
    keys: list[str], leads: dict[str, dict], threshold: float, volume: int
) -> dict:
    y = [leads[k]["converted"] for k in keys]
    scores = [leads[k]["score"] for k in keys]
    top = sorted(keys, key=lambda k: (-leads[k]["score"], k))[:volume]
    top_hits = sum(leads[k]["converted"] for k in top)
    mql = [k for k in keys if leads[k]["score"] >= threshold]
    hits = sum(leads[k]["converted"] for k in mql)
    return {
        "roc_auc": round(roc_auc_score(y, scores), 4),
        "pr_auc": round(average_precision_score(y, scores), 4),
        "same_volume": {
            "volume": volume,
            "precision": round(top_hits / volume, 4),
            "recall": round(top_hits / sum(y), 4),
        },
        "at_threshold": {
            "volume": len(mql),
            "converted": hits,
            "conversion_rate": round(hits / len(mql), 4),
            "recall": round(hits / sum(y), 4),
            "f1": round(2 * hits / (len(mql) + sum(y)), 4),
        },
    }


def pct(value: float) -> str:
    return f"{value:.2%}"


def pp(value: float) -> str:
    """A difference of rates in percentage points, signed, with the doc's minus sign."""
    return f"{value * 100:+.2f}".replace("-", "−")


def test_the_olist_evidence_suggestion_and_comparison_match_an_independent_count_and_the_doc():
    call_command(
        "import_csv",
        str(ROOT / "docs/olist/mapping.json"),
        "--data-dir",
        str(DATA),
        stdout=StringIO(),
    )
    version = scoring_model_import(
        document=json.loads((ROOT / "docs/olist/model.json").read_text())
    )
    cutoff = datetime.fromisoformat("2018-03-01T00:00:00-03:00")
    leads = olist_leads()
    doc = (ROOT / "docs/calibration-olist.md").read_text()

    backtest = calibration_backtest(cutoff=cutoff, horizon_days=90, version_id=version.id)
    result = calibration_suggestion(cutoff=cutoff, horizon_days=90, version_id=version.id)
    keys = sorted(leads)  # the leads ordered by key (email), as the split orders them
    product_keys = sorted(
        row.key
        for row in learning_rows_get(cutoff=cutoff, horizon_days=90, version_id=version.id).rows
    )

    # Population and what was left out: 8,000 leads = population + first contact on or
    # after the cut-off + won by it.
    assert product_keys == keys
    assert result["records"] == len(leads) == 3982
    assert sum(lead["converted"] for lead in leads.values()) == 110
    assert backtest["guardrails"] == {"min_conversions": 30, "max_interval_width": 0.2}
    assert backtest["left_out"]["contacts"] == {
        "created_after_cutoff": 3829,
        "converted_before_cutoff": 189,
    }
    assert "3,829 leads first contacted on or after it, 189 already won by it" in doc

    # Per-rule evidence, each rule against a count by hand, and its row in the doc.
    evidence = {e["rule"]: e for e in result["evidence"]}
    assert list(evidence) == ["First contact", "Search or direct", "Referral"]
    points = {"First contact": 60, "Search or direct": 20, "Referral": 10}
    for rule, e in evidence.items():
        assert {k: v for k, v in e.items() if k not in ("kind", "rule")} == (
            evidence_of(leads, rule)
        )
        low, high = e["interval"]
        d_low, d_high = e["difference_interval"]
        row = (
            f"| {rule} | {e['kind']} | {points[rule]} | {e['matched']:,} | {e['converted']} "
            f"| {pct(e['conversion_rate'])} | {pct(e['rest_conversion_rate'])} "
            f"| {e['lift']:.4f} | {pct(low)}–{pct(high)} | {pp(d_low)} to {pp(d_high)} "
            f"| {e['conversion_share']:.1%} | {'weak' if e['weak'] else 'strong'} |"
        )
        assert row in doc, row
    # First contact separates (its matched rate against the rest's 0.16%); the origin rules
    # do not.
    assert {rule: e["weak"] for rule, e in evidence.items()} == {
        "First contact": None,
        "Search or direct": NOT_APART,
        "Referral": NOT_APART,
    }
    unused = result["unused_values"]
    assert [(u["attribute"], u["value"], u["matched"], u["converted"]) for u in unused] == [
        ("lead_source", "unknown", 552, 24)
    ]
    assert unused[0]["text"] in doc

    # The split: seeded (16), stratified, 70/30 over the leads ordered by key.
    y = [leads[k]["converted"] for k in keys]
    train, held_out = train_test_split(keys, test_size=0.3, random_state=16, stratify=y)
    assert result["split"] == {
        "seed": 16,
        "train": len(train),
        "held_out": len(held_out),
        "train_conversions": sum(leads[k]["converted"] for k in train),
        "held_out_conversions": sum(leads[k]["converted"] for k in held_out),
        "stratified": True,
    }
    assert (len(train), len(held_out)) == (2787, 1195)

    # A logistic regression fitted directly on the same three features of the training part:
    # its coefficients are the product's.
    features = ["Search or direct", "Referral", "count"]

    def x(part: list[str]) -> np.ndarray:
        return np.array([[float(leads[k][f]) for f in features] for k in part])

    direct = LogisticRegression(C=1.0, max_iter=5000).fit(
        x(train), [leads[k]["converted"] for k in train]
    )
    rules = ["Search or direct", "Referral", "First contact"]
    direct_coef = dict(zip(rules, direct.coef_[0].tolist(), strict=True))
    table = result["suggestion"]["rules"]
    assert [r["rule"] for r in table] == rules
    coefficients = [r["coefficient"] for r in table]
    assert np.allclose(direct.coef_[0], coefficients, atol=1e-3)
    for coefficient in coefficients:
        assert f"{coefficient:+.4f}".replace("-", "−") in doc

    # The suggested points, by hand: a rule weak on the training part keeps its points (and
    # says why); the others get their coefficient scaled so that the largest of them is
    # worth the model's largest points (60).
    train_leads = {k: leads[k] for k in train}
    kept = {rule: evidence_of(train_leads, rule)["weak"] for rule in rules}
    changing = [rule for rule in rules if kept[rule] is None]
    scale = 60 / max(abs(direct_coef[rule]) for rule in changing)
    suggested = {
        rule: points[rule] if kept[rule] else round(direct_coef[rule] * scale) for rule in rules
    }
    assert [(r["rule"], r["points"], r["suggested"], r["kept"]) for r in table] == [
        (rule, points[rule], suggested[rule], kept[rule]) for rule in rules
    ]
    assert kept == {"Search or direct": NOT_APART, "Referral": NOT_APART, "First contact": None}
    assert suggested == points  # First contact changes, but to 60 again: the largest
    for rule in rules:
        row = (
            f"| {rule} | {points[rule]} | {direct_coef[rule]:+.4f} | {suggested[rule]} |"
        ).replace("-", "−")
        assert row in doc, row

    # The total: the best F1 on the training part under those points (today's).
    threshold = result["suggestion"]["threshold"]
    assert threshold["current"] == 50
    assert threshold["suggested"] == best_f1_threshold(train, leads) == 43.37
    assert "total 50 → **43.37**" in doc

    # The comparison on the held-out 30%, recomputed; the suggestion has the same points.
    comparison = result["comparison"]
    volume = sum(leads[k]["score"] >= 50 for k in held_out)
    assert comparison["version"] == held_out_figures(held_out, leads, 50, volume)
    assert comparison["suggestion"] == held_out_figures(held_out, leads, 43.37, volume)
    for side in ("version", "suggestion"):
        c = comparison[side]
        row = (
            f"| {side} | {c['roc_auc']:.4f} | {c['pr_auc']:.4f} "
            f"| {pct(c['same_volume']['precision'])} | {pct(c['same_volume']['recall'])} "
            f"| {c['at_threshold']['volume']} | {c['at_threshold']['converted']} "
            f"| {pct(c['at_threshold']['conversion_rate'])} "
            f"| {pct(c['at_threshold']['recall'])} | {c['at_threshold']['f1']:.4f} |"
        )
        assert row in doc, row

    # The direct regression on the held-out part: its ROC AUC and its distance to the
    # suggestion's are the doc's. On this split the distance is 0.0211, just over the 0.02 the
    # issue asks for (it was 0.0189 on the split drawn in read order): the doc says so, and
    # this records it rather than asserting `<= 0.02`.
    direct_auc = roc_auc_score(
        [leads[k]["converted"] for k in held_out], direct.decision_function(x(held_out))
    )
    distance = direct_auc - comparison["suggestion"]["roc_auc"]
    assert round(distance, 4) == 0.0211, distance
    assert f"held-out ROC AUC of {direct_auc:.4f}, {distance:.4f} above" in doc, direct_auc
