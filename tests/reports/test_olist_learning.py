"""The real Olist leads (../shared/data/olist, not in the repository): per-rule evidence, the
suggested weights and the held-out comparison quoted in docs/calibration-olist.md §5,
recomputed independently from the CSV files and the rules of docs/olist/model.json.

The independent side reads the two CSV files with `csv`, applies the model's rules by hand
(origin sets; 60 points halving every 14 days, counted for 180 days, as of the cut-off in
America/Sao_Paulo), labels a lead converted when its deal was won within 90 days after the
cut-off, and uses sklearn directly. The only thing it takes from the product is the order of
the backtest's records, which the seeded split depends on."""

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


def wilson(hits: int, n: int) -> list[float]:
    p, z2 = hits / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return [round(centre - half, 4), round(centre + half, 4)]


def evidence_of(leads: dict[str, dict], rule: str) -> dict:
    if rule == "First contact":
        matched = [lead for lead in leads.values() if lead["count"] > 0]
    else:
        matched = [lead for lead in leads.values() if lead[rule]]
    n, hits = len(matched), sum(lead["converted"] for lead in matched)
    total = sum(lead["converted"] for lead in leads.values())
    base = total / len(leads)
    return {
        "matched": n,
        "converted": hits,
        "conversion_rate": round(hits / n, 4),
        "rest_conversion_rate": round((total - hits) / (len(leads) - n), 4),
        "lift": round(hits / n / base, 4),
        "interval": wilson(hits, n),
        "conversion_share": round(hits / total, 4),
    }


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
    order = [
        row.key
        for row in learning_rows_get(cutoff=cutoff, horizon_days=90, version_id=version.id).rows
    ]

    # Population and what was left out: 8,000 leads = population + first contact on or
    # after the cut-off + won by it.
    assert sorted(order) == sorted(leads)
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
        assert {k: v for k, v in e.items() if k not in ("kind", "rule", "weak")} == (
            evidence_of(leads, rule)
        )
        assert e["weak"] == "its 95% interval includes the base rate"
        low, high = e["interval"]
        row = (
            f"| {rule} | {e['kind']} | {points[rule]} | {e['matched']:,} | {e['converted']} "
            f"| {pct(e['conversion_rate'])} | {pct(e['rest_conversion_rate'])} "
            f"| {e['lift']:.4f} | {pct(low)}–{pct(high)} | {e['conversion_share']:.1%} | weak |"
        )
        assert row in doc, row
    unused = result["unused_values"]
    assert [(u["attribute"], u["value"], u["matched"], u["converted"]) for u in unused] == [
        ("lead_source", "unknown", 552, 24)
    ]
    assert unused[0]["text"] in doc

    # The suggestion: every rule kept (weak), only the total moves.
    assert [(r["rule"], r["points"], r["suggested"]) for r in result["suggestion"]["rules"]] == [
        ("Search or direct", 20, 20),
        ("Referral", 10, 10),
        ("First contact", 60, 60),
    ]
    threshold = result["suggestion"]["threshold"]
    assert (threshold["current"], threshold["suggested"]) == (50, 42.43)
    assert "total 50 → **42.43**" in doc
    coefficients = [r["coefficient"] for r in result["suggestion"]["rules"]]
    for coefficient in coefficients:
        assert f"{coefficient:+.4f}".replace("-", "−") in doc

    # The split: seeded (16), stratified, 70/30 over the backtest's records in its order.
    y = [leads[k]["converted"] for k in order]
    train, held_out = train_test_split(order, test_size=0.3, random_state=16, stratify=y)
    assert result["split"] == {
        "seed": 16,
        "train": len(train),
        "held_out": len(held_out),
        "train_conversions": sum(leads[k]["converted"] for k in train),
        "held_out_conversions": sum(leads[k]["converted"] for k in held_out),
        "stratified": True,
    }
    assert (len(train), len(held_out)) == (2787, 1195)

    # The comparison on the held-out 30%, recomputed; the suggestion has the same points.
    comparison = result["comparison"]
    volume = sum(leads[k]["score"] >= 50 for k in held_out)
    assert comparison["version"] == held_out_figures(held_out, leads, 50, volume)
    assert comparison["suggestion"] == held_out_figures(held_out, leads, 42.43, volume)
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

    # A logistic regression fitted directly on the same three features (the training part)
    # ranks the held-out part about as well as the suggestion, and its coefficients have the
    # product's signs.
    features = ["Search or direct", "Referral", "count"]

    def x(keys: list[str]) -> np.ndarray:
        return np.array([[float(leads[k][f]) for f in features] for k in keys])

    direct = LogisticRegression(C=1.0, max_iter=5000).fit(
        x(train), [leads[k]["converted"] for k in train]
    )
    direct_auc = roc_auc_score(
        [leads[k]["converted"] for k in held_out], direct.decision_function(x(held_out))
    )
    assert abs(comparison["suggestion"]["roc_auc"] - direct_auc) <= 0.02
    assert f"{direct_auc:.4f}" in doc, direct_auc
    assert np.sign(direct.coef_[0]).tolist() == np.sign(coefficients).tolist()
    assert np.allclose(direct.coef_[0], coefficients, atol=1e-3)
