"""Per-rule evidence: exact lifts, Wilson intervals, the planted effects ranked in order, the
attribute values no rule uses, and the database selector against the engine."""

from __future__ import annotations

import copy
import math
import random
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff
from mqa.reports.backtest import BacktestError
from mqa.reports.evidence import (
    account_evidence,
    learning_rows_get,
    newcombe,
    rule_evidence,
    unused_values,
    wilson,
)
from mqa.reports.features import CRITERIA, AccountRow, RuleRow, account_row, qualifies, rescored
from mqa.scoring import AccountResult, parse_document
from tests.factories import TEST_MODEL, event, pricing_view

T = (timezone.now() - timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)

# A model whose rules have known effects on the log-odds of converting (per match, or per
# counted activity for engagement rules); "Has title" has none. Caps are out of the way.
PLANTED_DOCUMENT: dict[str, Any] = {
    "format": "mqa.scoring-model/v1",
    "name": "Planted",
    "contact": {
        "fit": {
            "cap": 1000,
            "rules": [
                {"label": "Senior", "attribute": "seniority", "op": "in", "value": ["vp", "c_level"], "points": 30},
                {"label": "Big account", "attribute": "account.employee_count", "op": "gte", "value": 200, "points": 20},
                {"label": "Has title", "attribute": "title", "op": "is_set", "points": 5},
                {"label": "Free mail", "attribute": "account.domain", "op": "is_not_set", "points": -10},
            ],
        },
        "engagement": {
            "cap": 1000,
            "rules": [
                {"label": "Demo", "event_type": "demo_request", "points": 40, "max_count": 2},
                {"label": "Pricing", "event_type": "page_view", "points": 10, "max_count": 3},
            ],
        },
        "disqualifiers": [
            {"attribute": "seniority", "op": "eq", "value": "student", "reason": "student"}
        ],
        "thresholds": {"fit_floor": 0, "engagement_floor": 0, "total": 70, "engaged": 10},
    },
}  # fmt: skip
PLANTED_MODEL = parse_document(PLANTED_DOCUMENT)
POINTS = {"Senior": 30, "Big account": 20, "Has title": 5, "Free mail": -10}
ENGAGEMENT_POINTS = {"Demo": 40, "Pricing": 10}
# Log-odds per match / per count, strongest first; webinar leads (no rule) convert more.
EFFECTS = {"Senior": 1.6, "Demo": 0.9, "Big account": 0.6, "Pricing": 0.3, "Free mail": -1.2}
WEBINAR, STUDENT, INTERCEPT = 1.2, -1.5, -3.2


def planted_rows(n: int = 6000, seed: int = 7) -> list[RuleRow]:
    rng = random.Random(seed)
    thresholds = PLANTED_MODEL.contact.thresholds
    rows = []
    for i in range(n):
        student = rng.random() < 0.05
        senior = not student and rng.random() < 0.3
        fit = {
            label
            for label, share in (
                ("Senior", 1.0 if senior else 0.0),
                ("Big account", 0.4),
                ("Has title", 0.5),
                ("Free mail", 0.2),
            )
            if rng.random() < share
        }
        counts = {"Demo": rng.choice([0, 0, 0, 1, 2]), "Pricing": rng.randint(0, 3)}
        source = rng.choice(["webinar", "ads", "seo", "event", "partner", "outbound"])
        logit = INTERCEPT + sum(EFFECTS[label] for label in fit if label in EFFECTS)
        logit += sum(EFFECTS[label] * c for label, c in counts.items())
        logit += WEBINAR * (source == "webinar") + STUDENT * student
        seniority = "student" if student else ("vp" if senior else rng.choice(["manager", "ic"]))
        row = RuleRow(
            key=f"c{i}@x.io",
            converted=rng.random() < 1 / (1 + math.exp(-logit)),
            fit=frozenset(fit),
            engagement={label: float(c) for label, c in counts.items() if c},
            disqualifiers=("student",) if student else (),
            attributes={"seniority": seniority, "lead_source": source},
            fit_cap=1000,
            engagement_cap=1000,
            thresholds=thresholds,
        )
        f, e, total = rescored(row, POINTS, ENGAGEMENT_POINTS)
        rows.append(
            RuleRow(
                **{
                    **row.__dict__,
                    "score": total,
                    "mql": qualifies(row, f, e, total, thresholds.total),
                }
            )
        )
    return rows


WEAK_DIFFERENCE = (
    "its conversion rate is not told apart from the rest's (95% interval of the difference "
    "includes 0)"
)


def row(converted: bool, *fit: str, **attributes: str) -> RuleRow:
    return RuleRow(key="k", converted=converted, fit=frozenset(fit), attributes=attributes)


def test_lift_comes_from_exact_rates_not_rounded_ones():
    # 1 of 3 matched converted, 3 of 21 overall: 0.3333 / 0.1429 would give 2.3324
    rows = [row(True, "Senior"), row(False, "Senior"), row(False, "Senior")]
    rows += [row(True), row(True)] + [row(False) for _ in range(16)]

    senior = next(e for e in rule_evidence(PLANTED_MODEL, rows) if e["rule"] == "Senior")

    assert senior == {
        "kind": "fit",
        "rule": "Senior",
        "matched": 3,
        "converted": 1,
        "conversion_rate": 0.3333,
        "rest_conversion_rate": 0.1111,
        "lift": 2.3333,
        "interval": [0.0615, 0.7923],
        "difference_interval": [-0.1255, 0.6882],
        "conversion_share": 0.3333,
        "weak": "only 3 records matched (fewer than 30)",
    }


def test_the_difference_interval_matches_newcombes_worked_examples():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, method 10.
    assert [round(x, 4) for x in newcombe(56, 70, 48, 80)] == [0.0524, 0.3339]
    assert [round(x, 4) for x in newcombe(9, 10, 3, 10)] == [0.1705, 0.809]
    assert newcombe(1, 1, 0, 0) is None


def test_a_rule_matching_most_records_is_judged_against_the_rest_not_the_base_rate():
    # 90 of 100 records match, 27 of them convert (30%); of the other 10, none does. The
    # matched rate's interval (21.5%–40.2%) includes the base rate 27%, yet the rule separates.
    rows = [row(i < 27, "Senior") for i in range(90)] + [row(False) for _ in range(10)]

    senior = next(e for e in rule_evidence(PLANTED_MODEL, rows) if e["rule"] == "Senior")

    assert senior["interval"][0] <= 0.27 <= senior["interval"][1]
    # 0.3 − √((0.3 − 0.2148)² + 0.2775²) and 0.3 + √((0.4013 − 0.3)² + 0²): Wilson's
    # intervals of 27/90 (0.2148–0.4013) and of 0/10 (0–0.2775).
    assert senior["difference_interval"] == [0.0098, 0.4013]
    assert senior["weak"] is None


def test_a_rule_matching_every_record_is_weak():
    rows = [row(i < 40, "Senior") for i in range(100)]

    senior = next(e for e in rule_evidence(PLANTED_MODEL, rows) if e["rule"] == "Senior")

    assert senior["weak"] == "it matched every record: there is no rest to compare with"


def test_the_wilson_interval_matches_the_textbook_values():
    assert [round(x, 4) for x in wilson(2, 3)] == [0.2077, 0.9385]
    assert [round(x, 4) for x in wilson(0, 10)] == [0.0, 0.2775]
    assert wilson(0, 0) is None


def test_a_rule_that_matched_nothing_has_no_rates_and_comes_last():
    rows = [row(True), row(False)]

    evidence = rule_evidence(PLANTED_MODEL, rows)

    assert evidence[-1]["matched"] == 0
    assert all(e["lift"] is None and e["interval"] is None for e in evidence)
    assert [e["kind"] for e in evidence].count("disqualifier") == 1


def test_the_evidence_ranks_the_planted_effects_in_order():
    rows = planted_rows()

    evidence = rule_evidence(PLANTED_MODEL, rows)

    order = [e["rule"] for e in evidence]
    assert order[:6] == ["Senior", "Demo", "Big account", "Pricing", "Has title", "Free mail"]
    by_rule = {e["rule"]: e for e in evidence}
    assert by_rule["Has title"]["weak"] == WEAK_DIFFERENCE
    assert all(by_rule[r]["weak"] is None for r in EFFECTS)
    assert by_rule["student"]["lift"] < 1
    shares = {r: by_rule[r]["conversion_share"] for r in ("Senior", "Demo")}
    assert all(0 < s < 1 for s in shares.values())


def test_a_value_with_lift_that_no_rule_uses_is_named():
    rows = planted_rows()

    unused = unused_values(PLANTED_MODEL, rows)

    # seniority = vp has more lift, but the Senior rule uses it
    assert [(u["attribute"], u["value"]) for u in unused] == [("lead_source", "webinar")]
    webinar = unused[0]
    matched = [r for r in rows if r.attributes["lead_source"] == "webinar"]
    assert webinar["matched"] == len(matched)
    lift = (sum(r.converted for r in matched) / len(matched)) / (
        sum(r.converted for r in rows) / len(rows)
    )
    assert webinar["lift"] == round(lift, 4)
    assert (
        webinar["text"]
        == f"`lead_source = webinar`: {lift:.1f}× lift, {len(matched)} leads, no rule"
    )


def test_a_rule_on_the_attribute_that_matches_the_value_uses_it():
    document = copy.deepcopy(PLANTED_DOCUMENT)
    document["contact"]["fit"]["rules"].append(
        {"label": "Events", "attribute": "lead_source", "op": "in", "value": ["Webinar", "event"], "points": 5}
    )  # fmt: skip

    assert unused_values(parse_document(document), planted_rows()) == []


# The database: the backtest's population as rule rows, scored by the engine.


def won(email: str, at) -> None:
    Handoff.objects.create(
        kind="lead", contact=Contact.objects.get(email=email), status="accepted",
        created_at=at - timedelta(days=1), outcome="won", outcome_at=at,
    )  # fmt: skip


@pytest.mark.django_db
def test_the_selector_reads_the_backtests_population_as_rule_rows(active_model):
    day = timedelta(days=1)
    accounts_upsert(items=[{"domain": "big.io", "employee_count": 500}])
    contacts_upsert(
        items=[
            {"email": "a@big.io", "seniority": "VP", "lead_source": " Webinar "},
            {"email": "b@big.io", "seniority": "student"},
            {"email": "c@gmail.com"},
            {"email": "d@gmail.com"},
        ]
    )
    events_ingest(
        items=[
            event("a@big.io", at=T - 10 * day),
            *(pricing_view("a@big.io", at=T - 2 * day) for _ in range(4)),
            event("b@big.io", at=T - 3 * day),
            event("c@gmail.com", "email_click", at=T - 3 * day),
            pricing_view("c@gmail.com", at=T + day),  # after the cut-off: not counted
            event("d@gmail.com", at=T - day),
        ]
    )
    won("a@big.io", T + 10 * day)
    won("d@gmail.com", T - day)  # converted before the cut-off: not in the population

    learning = learning_rows_get(cutoff=T, horizon_days=30)

    rows = {r.key: r for r in learning.rows}
    assert sorted(rows) == ["a@big.io", "b@big.io", "c@gmail.com"]
    a = rows["a@big.io"]
    assert (a.converted, a.fit, dict(a.engagement), a.disqualifiers) == (
        True,
        frozenset({"Senior", "Big account"}),
        {"Demo": 1.0, "Pricing": 3.0},
        (),
    )
    assert a.attributes == {"seniority": "vp", "lead_source": "webinar"}
    assert (a.score, a.mql) == (120.0, True)
    assert rescored(a, {"Senior": 30, "Big account": 20}, {"Demo": 40, "Pricing": 10}) == (
        50,
        70.0,
        120.0,
    )
    assert rows["b@big.io"].disqualifiers == ("student",)
    assert (rows["c@gmail.com"].converted, dict(rows["c@gmail.com"].engagement)) == (False, {})
    assert learning.version.document["name"] == TEST_MODEL["name"]


@pytest.mark.django_db
def test_the_selector_names_a_bad_argument(active_model):
    with pytest.raises(BacktestError) as error:
        learning_rows_get(cutoff=T, horizon_days=30, version_id=999)
    assert (error.value.field, str(error.value)) == ("version", "no such scoring model version")


def test_account_criteria_and_rules_have_their_evidence():
    # 40 accounts met required_roles (24 converted), 60 did not (6 converted); all met fit_floor.
    met = frozenset({"fit_floor", "required_roles"})
    rows = [AccountRow(f"a{i}", i < 24, met=met, fit=frozenset({"Big"})) for i in range(40)]
    rows += [AccountRow(f"b{i}", i < 6, met=frozenset({"fit_floor"})) for i in range(60)]

    evidence = {e["rule"]: e for e in account_evidence(PLANTED_MODEL, rows)}

    assert evidence["required_roles"] == {
        "kind": "criterion",
        "rule": "required_roles",
        "matched": 40,
        "converted": 24,
        "conversion_rate": 0.6,
        "rest_conversion_rate": 0.1,
        "lift": 2.0,  # 0.6 / (30 / 100)
        "interval": [round(x, 4) for x in wilson(24, 40)],
        "difference_interval": [round(x, 4) for x in newcombe(24, 40, 6, 60)],
        "conversion_share": 0.8,
        "weak": None,
    }
    assert evidence["fit_floor"]["weak"] == (
        "it matched every record: there is no rest to compare with"
    )
    assert evidence["min_roles"]["matched"] == 0
    assert [e["kind"] for e in account_evidence(PLANTED_MODEL, rows)][-1] == "criterion"


def test_an_account_row_meets_every_criterion_its_result_does_not_miss():
    missing = ({"criterion": "min_roles", "actual": 1, "required": 2},)
    result = AccountResult(
        fit=50,
        signal_score=0.0,
        engagement=10.0,
        status="engaged",
        engaged_contacts=1,
        mql_contacts=0,
        roles_covered=("champion",),
        missing=missing,
        disqualified_reasons=(),
        breakdown={"fit": [{"label": "Big"}], "signals": [{"label": "Surge"}]},
    )

    row = account_row(result, key="acme.com", converted=True)

    assert row.met == frozenset(CRITERIA) - {"min_roles"}
    assert (row.fit, row.signals, row.converted) == (frozenset({"Big"}), frozenset({"Surge"}), True)
