"""Suggested weights: the planted effects' signs and order recovered, the held-out AUC of the
integer points next to a logistic regression's, the guardrail, and the API."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import ScoringModelVersion
from mqa.reports.evidence import rule_labels
from mqa.reports.features import CRITERIA
from mqa.reports.suggest import (
    DEFAULT_SEED,
    SuggestionError,
    calibration_suggestion,
    feature_matrix,
    split,
    suggestion_from_rows,
)
from mqa.scoring import parse_document
from tests.factories import event, pricing_view
from tests.problems import problem
from tests.reports.test_evidence import (
    EFFECTS,
    PLANTED_DOCUMENT,
    PLANTED_MODEL,
    WEAK_DIFFERENCE,
    T,
    planted_rows,
    won,
)

URL = "/api/v1/reports/calibration/suggestion"


@pytest.fixture(scope="module")
def planted():
    rows = planted_rows()
    return rows, suggestion_from_rows(PLANTED_MODEL, PLANTED_DOCUMENT, rows)


def test_the_suggested_points_recover_the_planted_signs_and_order(planted):
    _, result = planted

    table = {r["rule"]: r for r in result["suggestion"]["rules"]}
    by_effect = sorted(EFFECTS, key=EFFECTS.get, reverse=True)
    assert sorted(EFFECTS, key=lambda r: table[r]["suggested"], reverse=True) == by_effect
    assert all((table[r]["suggested"] > 0) == (EFFECTS[r] > 0) for r in EFFECTS)
    assert max(abs(table[r]["suggested"]) for r in EFFECTS) == 40  # the model's largest points
    assert table["Has title"] == {
        "kind": "fit",
        "rule": "Has title",
        "points": 5,
        "suggested": 5,
        "coefficient": table["Has title"]["coefficient"],
        "kept": WEAK_DIFFERENCE,
    }
    assert table["student"]["points"] is None and table["student"]["coefficient"] < 0


def test_the_suggestion_is_the_same_model_with_only_points_and_total_changed(planted):
    _, result = planted
    document = result["suggestion"]["document"]

    parse_document(document)
    new = {r["rule"]: r["suggested"] for r in result["suggestion"]["rules"]}
    expected = {
        **PLANTED_DOCUMENT,
        "contact": {
            **PLANTED_DOCUMENT["contact"],
            "fit": {
                "cap": 1000,
                "rules": [
                    {**r, "points": new[r["label"]]}
                    for r in PLANTED_DOCUMENT["contact"]["fit"]["rules"]
                ],
            },
            "engagement": {
                "cap": 1000,
                "rules": [
                    {**r, "points": new[r["label"]]}
                    for r in PLANTED_DOCUMENT["contact"]["engagement"]["rules"]
                ],
            },
            "thresholds": {
                **PLANTED_DOCUMENT["contact"]["thresholds"],
                "total": result["suggestion"]["threshold"]["suggested"],
            },
        },
    }
    assert document == expected
    assert PLANTED_DOCUMENT["contact"]["thresholds"]["total"] == 70  # the input is untouched


def test_the_suggestions_held_out_auc_is_that_of_a_regression_on_the_same_features(planted):
    rows, result = planted
    train, test = split(rows, DEFAULT_SEED)
    keys = rule_labels(PLANTED_MODEL)
    x = feature_matrix(rows, keys)
    y = np.array([r.converted for r in rows])
    direct = LogisticRegression(max_iter=5000).fit(x[train], y[train])
    direct_auc = roc_auc_score(y[test], direct.predict_proba(x[test])[:, 1])

    comparison = result["comparison"]

    print(
        f"held-out ROC AUC: version {comparison['version']['roc_auc']}, suggestion "
        f"{comparison['suggestion']['roc_auc']}, direct regression {direct_auc:.4f}"
    )
    assert abs(comparison["suggestion"]["roc_auc"] - direct_auc) <= 0.02
    assert comparison["suggestion"]["roc_auc"] > comparison["version"]["roc_auc"]
    assert result["split"] == {
        "seed": DEFAULT_SEED,
        "train": 4200,
        "held_out": 1800,
        "train_conversions": sum(rows[i].converted for i in train),
        "held_out_conversions": sum(rows[i].converted for i in test),
        "stratified": True,
    }
    same = comparison["version"]["same_volume"]["volume"]
    assert same == sum(rows[i].mql for i in test)
    assert comparison["suggestion"]["same_volume"]["volume"] == same


def test_no_suggestion_from_too_few_conversions():
    rows = planted_rows(n=400)
    few = [r for r in rows if not r.converted] + [r for r in rows if r.converted][:29]

    with pytest.raises(SuggestionError) as error:
        suggestion_from_rows(PLANTED_MODEL, PLANTED_DOCUMENT, few, min_conversions=30)

    assert str(error.value).startswith(
        "29 conversions in the backtest; a suggestion needs at least 30"
    )


# The database and the API: a world where senior contacts who asked for a demo convert.


@pytest.fixture
def world(active_model) -> None:
    day = timedelta(days=1)
    accounts_upsert(items=[{"domain": "big.io", "employee_count": 500}])
    contacts = []
    events = []
    for i in range(90):
        email = f"c{i}@big.io" if i % 2 else f"c{i}@small.io"
        contacts.append({"email": email, "seniority": "vp" if i % 3 == 0 else "manager"})
        events.append(pricing_view(email, at=T - 2 * day))
        if i % 5 < 2:
            events.append(event(email, at=T - 5 * day))
    contacts_upsert(items=contacts)
    events_ingest(items=events)
    for i in range(90):
        if (i % 3 == 0 and i % 5 < 2) or i % 4 == 1:
            won(f"c{i}@big.io" if i % 2 else f"c{i}@small.io", T + 10 * day)


def test_the_api_suggests_without_a_draft_unless_asked(api, world, settings):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 10
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world
    versions = ScoringModelVersion.objects.count()

    response = api.post(URL, {"cutoff": T.isoformat(), "horizon_days": 30}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["draft"] is None
    assert ScoringModelVersion.objects.count() == versions
    assert (body["records"], body["split"]["train"], body["split"]["held_out"]) == (90, 63, 27)
    assert {e["rule"] for e in body["evidence"]} == {
        "Senior",
        "Big account",
        "Demo",
        "Pricing",
        "student",
    }
    assert set(body["comparison"]) == {"version", "suggestion"}
    assert body["suggestion"]["threshold"]["current"] == 70
    criteria = [e for e in body["account_evidence"] if e["kind"] == "criterion"]
    assert sorted(e["rule"] for e in criteria) == sorted(CRITERIA)
    assert {e["rule"]: e["matched"] for e in criteria}["fit_floor"] == 1  # big.io


def test_the_api_creates_the_suggested_draft_when_asked(api, world, settings):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 10
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world

    response = api.post(
        URL, {"cutoff": T.isoformat(), "horizon_days": 30, "create_draft": True}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    draft = ScoringModelVersion.objects.get(pk=body["draft"]["id"])
    assert draft.state == ScoringModelVersion.State.DRAFT
    assert parse_document(draft.document) == parse_document(body["suggestion"]["document"])
    assert list(draft.audit.values_list("action", "api_key_name")) == [("imported", "test")]


def test_the_api_refuses_too_few_conversions_and_creates_nothing(api, world, settings):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 100
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world
    versions = ScoringModelVersion.objects.count()

    response = api.post(
        URL, {"cutoff": T.isoformat(), "horizon_days": 30, "create_draft": True}, format="json"
    )

    assert (response.status_code, response.json()) == (
        422,
        problem(
            422,
            "32 conversions in the backtest; a suggestion needs at least 100 (a later "
            "cut-off, a longer horizon or the 'sql' label may give more)",
        ),
    )
    assert ScoringModelVersion.objects.count() == versions


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"horizon_days": 30}, "cutoff", "This field is required."),
        ({"cutoff": T.isoformat(), "horizon_days": 0}, "horizon_days", "Ensure this value is greater than or equal to 1."),
        ({"cutoff": T.isoformat(), "horizon_days": 30, "version": 999}, "version", "no such scoring model version"),
        ({"cutoff": T.isoformat(), "horizon_days": 30, "label": "lost"}, "label", '"lost" is not a valid choice.'),
    ],
)  # fmt: skip
def test_the_api_names_a_bad_field(api, world, body, field, message):
    versions = ScoringModelVersion.objects.count()

    response = api.post(URL, {**body, "create_draft": True}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        problem(400, f"{field}: {message}", [{"field": field, "message": message}]),
    )
    assert ScoringModelVersion.objects.count() == versions


def test_the_minimum_number_of_conversions_defaults_to_30_and_comes_from_settings(world, settings):
    del settings.MQA_CALIBRATION_MIN_CONVERSIONS  # the default: 32 conversions are enough
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world
    assert calibration_suggestion(cutoff=T, horizon_days=30)["split"]["train"] == 63
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 33
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world

    with pytest.raises(SuggestionError, match=r"^32 conversions .* needs at least 33 "):
        calibration_suggestion(cutoff=T, horizon_days=30)


def test_no_suggestion_where_the_rate_at_the_suggested_total_is_too_uncertain(api, world, settings):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 10  # enough conversions, too few MQLs
    versions = ScoringModelVersion.objects.count()
    uncertain = (
        r"^the conversion rate of the \d+ training MQLs at the suggested total \d+ "
        r"\(\d+ converted\) has a 95% interval of 0\.\d{3} to [01]\.\d{3}, wider than 0\.2: "
        r"too uncertain to suggest points$"
    )

    with pytest.raises(SuggestionError, match=uncertain):
        calibration_suggestion(cutoff=T, horizon_days=30)
    response = api.post(
        URL, {"cutoff": T.isoformat(), "horizon_days": 30, "create_draft": True}, format="json"
    )

    assert response.status_code == 422
    assert re.match(uncertain, response.json()["detail"])
    assert ScoringModelVersion.objects.count() == versions
