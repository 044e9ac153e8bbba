"""The calibration backtest on a small world under TEST_MODEL, against hand-computed figures."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.services import accounts_upsert, signals_ingest
from contacts.models import Contact
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff, ScoringModelVersion
from mqa.reports.backtest import BacktestError, calibration_backtest
from mqa.review.reports import draft_token
from mqa.scoring import Activity, DocumentError, score_contact
from mqa.services.facts import contact_facts
from mqa.services.model_versions import (
    scoring_model_draft_with_thresholds,
    scoring_model_import,
)
from tests.factories import event, pricing_view, signal
from tests.problems import problem

pytestmark = pytest.mark.django_db
T = (timezone.now() - timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)
# These worlds are small enough to compute by hand: the guardrails are lowered so that their
# recommendations are made (tests/reports/test_calibration_guardrails.py holds the defaults).
LENIENT = {"min_conversions": 1, "max_interval_width": 1.0}


def won(email: str, at) -> None:
    Handoff.objects.create(
        kind="lead", contact=Contact.objects.get(email=email), status="accepted",
        created_at=at - timedelta(days=1), outcome="won", outcome_at=at,
    )  # fmt: skip


@pytest.fixture
def world(active_model) -> None:
    accounts_upsert(
        items=[
            {"domain": "big.io", "employee_count": 500},
            {"domain": "small.io", "employee_count": 50},
        ]
    )
    contacts_upsert(
        items=[
            {"email": "a@big.io", "seniority": "vp", "buying_role": "decision_maker"},
            {"email": "g@big.io", "buying_role": "champion"},
            {"email": "d@big.io", "seniority": "student"},
            {"email": "b@small.io"},
            {"email": "c@small.io", "seniority": "vp"},
            {"email": "e@gmail.com", "seniority": "c_level"},
        ]
    )
    day = timedelta(days=1)
    events_ingest(
        items=[
            event("a@big.io", at=T - 10 * day),
            *(pricing_view("g@big.io", at=T - 2 * day) for _ in range(2)),
            event("d@big.io", at=T - 3 * day),
            *(pricing_view("b@small.io", at=T - 2 * day) for _ in range(2)),
            *(pricing_view("c@small.io", at=T - day) for _ in range(3)),
            event("e@gmail.com", at=T - day),
        ]
    )
    won("a@big.io", T + 10 * day)
    won("d@big.io", T + 5 * day)
    won("c@small.io", T + 40 * day)  # after the horizon
    won("e@gmail.com", T - day)  # before the cut-off: not in the population


def point(threshold, volume, converted, rate, captured, lift, f1):
    return {
        "threshold": threshold, "volume": volume, "converted": converted, "conversion_rate": rate,
        "captured": captured, "lift": lift, "f1": f1,
    }  # fmt: skip


def test_the_backtest_scores_as_of_the_cutoff_and_labels_the_horizon(world):
    result = calibration_backtest(cutoff=T, horizon_days=30, label="won", **LENIENT)

    contacts = result["contacts"]
    assert (contacts["population"], contacts["converted"], contacts["base_rate"]) == (5, 2, 0.4)
    assert contacts["current"] == point(70.0, 1, 1, 1.0, 0.5, 2.5, 0.6667)
    by_threshold = {p["threshold"]: p for p in contacts["curve"]}
    assert by_threshold[60.0] == point(60.0, 2, 1, 0.5, 0.5, 1.25, 0.5)
    assert by_threshold[61.0] == point(61.0, 1, 1, 1.0, 0.5, 2.5, 0.6667)
    assert [p["threshold"] for p in contacts["curve"]] == [float(t) for t in range(1, 91)]
    # 61 to 90 all select only a@big.io: the nearest to the current 70 is kept.
    assert contacts["recommended"] == by_threshold[70.0]
    assert [(d["decile"], d["count"], d["min_score"], d["converted"]) for d in contacts["deciles"] if d["count"]] == [
        (2, 1, 20.0, 0), (4, 1, 40.0, 0), (6, 1, 60.0, 0), (8, 1, 60.0, 1), (10, 1, 90.0, 1),
    ]  # fmt: skip
    assert sum(contacts["distribution"]["converted"]) == 2
    assert sum(contacts["distribution"]["not_converted"]) == 3
    fit_floor = {p["threshold"]: p for p in contacts["floors"]["fit_floor"]["curve"]}
    assert fit_floor[30.0]["volume"] == 1 and fit_floor[0.0]["volume"] == 1

    accounts = result["accounts"]
    assert (accounts["population"], accounts["converted"], accounts["base_rate"]) == (2, 1, 0.5)
    assert accounts["current"] == point(150.0, 0, 0, None, 0.0, None, 0.0)
    by_threshold = {p["threshold"]: p for p in accounts["curve"]}
    assert by_threshold[110.0] == point(110.0, 1, 1, 1.0, 1.0, 2.0, 1.0)
    assert accounts["recommended"]["threshold"] == 110.0


def test_no_event_at_or_after_the_cutoff_changes_the_backtest(world, active_model):
    before = calibration_backtest(cutoff=T, horizon_days=30, label="won", **LENIENT)
    late = [event("b@small.io", at=T), event("b@small.io", at=T + timedelta(seconds=60))]
    # The engine itself counts events up to 300 s after `now`: the loader must leave them out.
    b = Contact.objects.select_related("account").get(email="b@small.io")
    model = active_model.model.contact
    with_late = score_contact(
        model, contact_facts(b), [Activity("demo_request", T + timedelta(seconds=60))], T
    )
    assert with_late.engagement == 40.0

    events_ingest(items=late)
    signals_ingest(items=[signal("small.io", at=T + timedelta(seconds=1))])
    after = calibration_backtest(cutoff=T, horizon_days=30, label="won", **LENIENT)

    assert after == before


def test_the_sql_label_counts_any_outcome_from_sql_on(world):
    Handoff.objects.filter(contact__email="c@small.io").update(
        outcome="sql", outcome_at=T + timedelta(days=3)
    )

    result = calibration_backtest(cutoff=T, horizon_days=30, label="sql", **LENIENT)

    assert result["contacts"]["converted"] == 3
    assert result["contacts"]["current"] == point(70.0, 1, 1, 1.0, 0.3333, 1.6667, 0.5)


def test_a_target_rate_picks_the_largest_volume_reaching_it(world):
    result = calibration_backtest(
        cutoff=T, horizon_days=30, goal="rate", target_rate=0.5, **LENIENT
    )

    assert result["contacts"]["recommended"]["threshold"] == 60.0  # 1 to 60 select a and c
    assert result["contacts"]["recommended"]["volume"] == 2


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"label": "mql"}, "label"),
        ({"goal": "volume"}, "goal"),
        ({"goal": "rate"}, "target_rate"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"version_id": 999}, "version"),
    ],
)
def test_bad_backtest_arguments_name_their_field(world, args, field):
    with pytest.raises(BacktestError) as error:
        calibration_backtest(cutoff=T, **({"horizon_days": 30} | args))

    assert error.value.field == field


def test_a_recommendation_becomes_a_draft_in_one_step(active_model):
    before = ScoringModelVersion.objects.get(pk=active_model.id).document

    draft = scoring_model_draft_with_thresholds(
        version_id=active_model.id, contact_total=61.0, account_engagement=110.0
    )

    assert (draft.state, draft.version) == ("draft", active_model.version + 1)
    assert draft.document["contact"]["thresholds"]["total"] == 61.0
    assert draft.document["account"]["thresholds"]["engagement"] == 110.0
    rest = {k: v for k, v in draft.document.items() if k not in ("contact", "account")}
    assert rest == {k: v for k, v in before.items() if k not in ("contact", "account")}
    assert draft.document["contact"]["fit"] == before["contact"]["fit"]


def test_the_api_runs_the_backtest(api, world):
    response = api.post(
        "/api/v1/reports/calibration",
        {"cutoff": T.isoformat(), "horizon_days": 30, "goal": "rate", "target_rate": 0.9} | LENIENT,
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["label"], body["model_version"]) == ("won", 1)
    assert body["contacts"]["recommended"] == point(70.0, 1, 1, 1.0, 0.5, 2.5, 0.6667)
    assert body["accounts"]["current"]["threshold"] == 150.0


def test_the_api_names_a_bad_field(api, world):
    response = api.post(
        "/api/v1/reports/calibration",
        {"cutoff": T.isoformat(), "horizon_days": 30, "goal": "rate"},
        format="json",
    )
    missing = api.post("/api/v1/reports/calibration", {"horizon_days": 30}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        problem(
            400,
            "target_rate: goal 'rate' needs a target_rate in (0, 1]",
            [{"field": "target_rate", "message": "goal 'rate' needs a target_rate in (0, 1]"}],
        ),
    )
    assert (missing.status_code, missing.json()) == (
        400,
        problem(
            400,
            "cutoff: This field is required.",
            [{"field": "cutoff", "message": "This field is required."}],
        ),
    )


def test_the_calibration_page_charts_the_backtest_and_makes_the_draft(
    admin_client, world, active_model
):
    page = admin_client.get(
        "/review/calibration/",
        {"cutoff": T.strftime("%Y-%m-%d %H:%M"), "horizon_days": 30, "label": "won", "goal": "f1"}
        | LENIENT,
    )

    assert page.status_code == 200
    assert page.context["result"]["accounts"]["recommended"]["threshold"] == 110.0
    curve = page.context["charts"]["contacts"]["curve"]
    assert (curve["labels"][60], curve["volume"][60], curve["rate"][60]) == (61.0, 1, 1.0)
    assert b'id="contacts-curve"' in page.content and b'id="accounts-distribution"' in page.content
    assert b'name="account_engagement" value="110.0"' in page.content

    response = admin_client.post(
        "/review/calibration/draft",
        {
            "version": active_model.id,
            "contact_total": "61.0",
            "account_engagement": "",
            "backtest": page.context["draft_token"],
        },
    )

    draft = ScoringModelVersion.objects.get(version=active_model.version + 1)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/mqa/scoringmodelversion/{draft.pk}/change/"
    assert draft.document["contact"]["thresholds"]["total"] == 61.0
    assert draft.document["account"]["thresholds"]["engagement"] == 150


def test_the_calibration_page_names_a_bad_field(admin_client, world):
    page = admin_client.get(
        "/review/calibration/", {"cutoff": "soon", "horizon_days": 30, "label": "won", "goal": "f1"}
    )

    assert page.status_code == 400
    assert page.context["result"] is None
    assert "cutoff" in page.context["form"].errors
    assert ScoringModelVersion.objects.count() == 1


def test_a_draft_from_an_unknown_version_is_a_404_and_creates_nothing(admin_client, active_model):
    response = admin_client.post(
        "/review/calibration/draft",
        {
            "version": 999,
            "contact_total": "60",
            "backtest": draft_token(version_id=999, refused={}),
        },
    )

    assert response.status_code == 404
    assert ScoringModelVersion.objects.count() == 1


# Two segments whose thresholds differ from the top level's and from each other's: big.io is
# enterprise, small.io smb, an unlinked contact is in no segment.
SEGMENTS = [
    {
        "name": "enterprise",
        "when": [{"attribute": "employee_count", "op": "gte", "value": 200}],
        "contact": {"thresholds": {"total": 30, "fit_floor": 20}},
        "account": {"thresholds": {"engagement": 100}},
    },
    {
        "name": "smb",
        "when": [{"attribute": "employee_count", "op": "between", "value": [10, 100]}],
        "contact": {"thresholds": {"total": 50, "fit_floor": 0, "engagement_floor": 15}},
        "account": {
            "thresholds": {"fit_floor": 0, "min_roles": 0, "required_roles": [], "engagement": 40}
        },
    },
]


@pytest.fixture
def segmented_world(request, test_document) -> None:
    test_document["segments"] = SEGMENTS  # before `world` publishes it
    request.getfixturevalue("world")
    contacts_upsert(items=[{"email": "f@gmail.com", "seniority": "vp"}])
    events_ingest(items=[event("f@gmail.com", at=T - timedelta(days=2))])
    won("b@small.io", T + timedelta(days=7))
    won("f@gmail.com", T + timedelta(days=3))


def test_the_backtest_has_no_segment_entries_for_a_model_without_segments(world):
    result = calibration_backtest(cutoff=T, horizon_days=30, label="won", **LENIENT)

    assert result["segments"] == []


def test_each_segment_is_backtested_with_its_own_thresholds(segmented_world):
    result = calibration_backtest(cutoff=T, horizon_days=30, label="won", **LENIENT)

    enterprise, smb, none = result["segments"]
    assert [(e["segment"], e["index"]) for e in result["segments"]] == [
        ("enterprise", 0), ("smb", 1), (None, None),
    ]  # fmt: skip
    # enterprise: a (90, converted), g (40; its fit 20 meets the segment's floor 20), d (out).
    contacts = enterprise["contacts"]
    assert contacts["threshold"] == "segments[0].contact.thresholds.total"
    assert (contacts["population"], contacts["converted"], contacts["base_rate"]) == (3, 2, 0.6667)
    assert contacts["current"] == point(30.0, 2, 1, 0.5, 0.5, 0.75, 0.5)
    assert contacts["recommended"] == point(41.0, 1, 1, 1.0, 0.5, 1.5, 0.6667)
    assert contacts["floors"]["fit_floor"]["current"] == 20
    fit_floor = {p["threshold"]: p["volume"] for p in contacts["floors"]["fit_floor"]["curve"]}
    assert (fit_floor[20.0], fit_floor[45.0]) == (2, 1)
    accounts = enterprise["accounts"]
    assert accounts["threshold"] == "segments[0].account.thresholds.engagement"
    assert (accounts["population"], accounts["converted"]) == (1, 1)
    assert accounts["current"] == point(100.0, 1, 1, 1.0, 1.0, 1.0, 1.0)
    assert accounts["recommended"] == accounts["current"]
    # smb: b (20; fit 0 and engagement 20 meet the segment's floors 0 and 15, converted), c (60).
    contacts = smb["contacts"]
    assert contacts["threshold"] == "segments[1].contact.thresholds.total"
    assert (contacts["population"], contacts["converted"], contacts["base_rate"]) == (2, 1, 0.5)
    assert contacts["current"] == point(50.0, 1, 0, 0.0, 0.0, 0.0, 0.0)
    assert contacts["recommended"] == point(20.0, 2, 1, 0.5, 1.0, 1.0, 0.6667)
    assert smb["accounts"]["threshold"] == "segments[1].account.thresholds.engagement"
    assert smb["accounts"]["current"] == point(40.0, 1, 1, 1.0, 1.0, 1.0, 1.0)
    # no segment: f (70, converted) under the top level's thresholds; no account.
    assert none["contacts"]["threshold"] == "contact.thresholds.total"
    assert none["contacts"]["population"] == 1
    assert none["contacts"]["recommended"] == point(70.0, 1, 1, 1.0, 1.0, 1.0, 1.0)
    assert none["accounts"]["threshold"] == "account.thresholds.engagement"
    assert (none["accounts"]["population"], none["accounts"]["recommended"]) == (0, None)
    assert none["accounts"]["current"] == point(150.0, 0, 0, None, None, None, None)


def test_the_overall_backtest_judges_every_record_by_its_own_segments_floors(segmented_world):
    result = calibration_backtest(cutoff=T, horizon_days=30, label="won", **LENIENT)

    contacts = result["contacts"]
    assert (contacts["population"], contacts["converted"]) == (6, 4)
    by_threshold = {p["threshold"]: p for p in contacts["curve"]}
    # g and b pass their segments' floors though not the top level's (fit 30).
    assert by_threshold[20.0] == point(20.0, 5, 3, 0.6, 0.75, 0.9, 0.6667)
    assert contacts["current"] == point(70.0, 2, 2, 1.0, 0.5, 1.5, 0.6667)
    assert contacts["recommended"] == by_threshold[20.0]
    fit_floor = {p["threshold"]: p["volume"] for p in contacts["floors"]["fit_floor"]["curve"]}
    # At each record's own total, engagement floor: a, g, c, f (b's 20 is under smb's 50).
    assert (fit_floor[0.0], fit_floor[30.0]) == (4, 3)
    accounts = result["accounts"]
    assert accounts["current"] == point(150.0, 0, 0, None, 0.0, None, 0.0)
    assert accounts["recommended"] == point(50.0, 2, 2, 1.0, 1.0, 1.0, 1.0)


def test_a_segments_recommendation_becomes_its_own_key_in_the_draft(test_document):
    test_document["segments"] = SEGMENTS
    source = scoring_model_import(document=test_document)

    draft = scoring_model_draft_with_thresholds(
        version_id=source.id,
        contact_total=65.0,
        segment_contact_totals={"enterprise": 41.0},
        segment_account_engagements={"smb": 45.0},
    )

    segments = draft.document["segments"]
    assert draft.document["contact"]["thresholds"]["total"] == 65.0
    assert segments[0]["contact"]["thresholds"] == {"total": 41.0, "fit_floor": 20}
    assert segments[0]["account"] == SEGMENTS[0]["account"]
    assert segments[1]["account"]["thresholds"]["engagement"] == 45.0
    assert segments[1]["contact"] == SEGMENTS[1]["contact"]


def test_a_draft_for_an_unknown_segment_is_refused_and_creates_nothing(test_document):
    source = scoring_model_import(document=test_document)

    with pytest.raises(DocumentError) as error:
        scoring_model_draft_with_thresholds(
            version_id=source.id, segment_contact_totals={"enterprise": 41.0}
        )

    assert error.value.errors == [("segments", "no segment named 'enterprise'")]
    assert ScoringModelVersion.objects.count() == 1


def test_the_calibration_page_shows_each_segment_and_drafts_its_thresholds(
    admin_client, segmented_world, active_model
):
    page = admin_client.get(
        "/review/calibration/",
        {"cutoff": T.strftime("%Y-%m-%d %H:%M"), "horizon_days": 30, "label": "won", "goal": "f1"}
        | LENIENT,
    )

    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="segment0-contacts-curve"' in content and 'id="segment2-accounts-curve"' in content
    assert 'id="segment0-contacts-deciles"' not in content  # a segment's section: the curve only
    assert "<code>segments[1].contact.thresholds.total</code>" in content
    assert "total 30.0 → 41.0;" in content and "engagement 150.0 → —</span>" in content
    assert list(page.context["charts"]) == [
        "contacts", "accounts", "segment0-contacts", "segment0-accounts", "segment1-contacts",
        "segment1-accounts", "segment2-contacts", "segment2-accounts",
    ]  # fmt: skip
    # The top level's inputs start at no segment's recommendations, each segment's at its own.
    assert 'name="contact_total" value="70.0"' in content
    # No segment's accounts have no conversion: that input is refused, not offered.
    assert 'name="account_engagement"' not in content
    assert page.context["refused"] == {
        "account_engagement": "account.thresholds.engagement: only 0 conversions in the horizon;"
        " at least 1 are needed to recommend a threshold"
    }
    assert [f.initial for f in page.context["segment_drafts"]] == [
        {"segment": "enterprise", "contact_total": 41.0, "account_engagement": 100.0},
        {"segment": "smb", "contact_total": 20.0, "account_engagement": 40.0},
    ]

    response = admin_client.post(
        "/review/calibration/draft",
        {
            "version": active_model.id, "contact_total": "", "account_engagement": "",
            "backtest": page.context["draft_token"], "segments-TOTAL_FORMS": "2", "segments-INITIAL_FORMS": "2",
            "segments-0-segment": "enterprise", "segments-0-contact_total": "41.0",
            "segments-0-account_engagement": "",
            "segments-1-segment": "smb", "segments-1-contact_total": "",
            "segments-1-account_engagement": "45",
        },
    )  # fmt: skip

    draft = ScoringModelVersion.objects.get(version=active_model.version + 1)
    assert response.status_code == 302
    assert draft.document["contact"]["thresholds"]["total"] == 70
    assert draft.document["segments"][0]["contact"]["thresholds"]["total"] == 41.0
    assert draft.document["segments"][0]["account"]["thresholds"]["engagement"] == 100
    assert draft.document["segments"][1]["contact"]["thresholds"]["total"] == 50
    assert draft.document["segments"][1]["account"]["thresholds"]["engagement"] == 45.0


def test_a_draft_for_a_segment_the_version_lacks_is_a_400_and_creates_nothing(
    admin_client, active_model
):
    response = admin_client.post(
        "/review/calibration/draft",
        {
            "version": active_model.id,
            "backtest": draft_token(version_id=active_model.id, refused={}),
            "segments-TOTAL_FORMS": "1",
            "segments-INITIAL_FORMS": "1", "segments-0-segment": "enterprise",
            "segments-0-contact_total": "41",
        },
    )  # fmt: skip

    assert response.status_code == 400
    assert response.content == b"Cannot create the draft: segments: no segment named 'enterprise'"
    assert ScoringModelVersion.objects.count() == 1


def test_the_api_backtest_has_the_segments(api, segmented_world):
    response = api.post(
        "/api/v1/reports/calibration",
        {"cutoff": T.isoformat(), "horizon_days": 30} | LENIENT,
        format="json",
    )

    assert response.status_code == 200
    segments = response.json()["segments"]
    assert [(s["segment"], s["contacts"]["recommended"]["threshold"]) for s in segments] == [
        ("enterprise", 41.0), ("smb", 20.0), (None, 70.0),
    ]  # fmt: skip


def test_the_calibrate_command_prints_each_segments_thresholds(segmented_world):
    out = io.StringIO()

    call_command(
        "calibrate", "--cutoff", T.isoformat(), "--horizon-days", "30", "--min-conversions", "1",
        "--max-interval-width", "1", stdout=out,
    )  # fmt: skip

    lines = out.getvalue().splitlines()
    segments = lines[lines.index("segment 'enterprise':") :]
    assert segments == [
        "segment 'enterprise':",
        "  contacts: population 3, converted 2; segments[0].contact.thresholds.total: current 30"
        " (volume 2, rate 50.0%, captured 50.0%), recommended 41 (volume 1, rate 100.0%,"
        " captured 50.0%)",
        "  accounts: population 1, converted 1; segments[0].account.thresholds.engagement:"
        " current 100 (volume 1, rate 100.0%, captured 100.0%), recommended 100 (volume 1,"
        " rate 100.0%, captured 100.0%)",
        "segment 'smb':",
        "  contacts: population 2, converted 1; segments[1].contact.thresholds.total: current 50"
        " (volume 1, rate 0.0%, captured 0.0%), recommended 20 (volume 2, rate 50.0%,"
        " captured 100.0%)",
        "  accounts: population 1, converted 1; segments[1].account.thresholds.engagement:"
        " current 40 (volume 1, rate 100.0%, captured 100.0%), recommended 40 (volume 1,"
        " rate 100.0%, captured 100.0%)",
        "no segment:",
        "  contacts: population 1, converted 1; contact.thresholds.total: current 70 (volume 1,"
        " rate 100.0%, captured 100.0%), recommended 70 (volume 1, rate 100.0%, captured 100.0%)",
        "  accounts: population 0, converted 0; account.thresholds.engagement: current 150"
        " (volume 0, rate —, captured —), recommended none: only 0 conversions in the horizon;"
        " at least 1 are needed to recommend a threshold",
    ]
