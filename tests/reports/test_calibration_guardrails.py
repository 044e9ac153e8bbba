"""The backtest's guardrails on the API, the review page and the `calibrate` command, and the
records it leaves out, on a small world under TEST_MODEL."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff, ScoringModelVersion
from mqa.reports.backtest import calibration_backtest
from tests.factories import event, pricing_view

pytestmark = pytest.mark.django_db
T = (timezone.now() - timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)
DAY = timedelta(days=1)
TOO_FEW = "only 2 conversions in the horizon; at least 30 are needed to recommend a threshold"


def won(email: str, at) -> None:
    Handoff.objects.create(
        kind="lead", contact=Contact.objects.get(email=email), status="accepted",
        created_at=at - DAY, outcome="won", outcome_at=at,
    )  # fmt: skip


@pytest.fixture
def world(active_model) -> None:
    """Two conversions in the horizon (contacts a and c, accounts big.io and small.io); three
    records converted before the cut-off (contacts o and e, o's account old.io); one contact
    (late) and one account (lonely.io) that did not exist at the cut-off; `early` was created
    before it with no event and is in."""
    accounts_upsert(
        items=[
            {"domain": "big.io", "employee_count": 500},
            {"domain": "small.io", "employee_count": 50},
            {"domain": "old.io", "employee_count": 50},
            {"domain": "lonely.io", "employee_count": 50},
        ]
    )
    contacts_upsert(
        items=[
            {"email": "a@big.io", "seniority": "vp", "buying_role": "decision_maker"},
            {"email": "b@big.io"},
            {"email": "c@small.io", "seniority": "vp"},
            {"email": "o@old.io"},
            {"email": "e@gmail.com"},
            {"email": "late@big.io"},
            {"email": "early@gmail.com"},
        ]
    )
    events_ingest(
        items=[
            event("a@big.io", at=T - 10 * DAY),
            pricing_view("b@big.io", at=T - 2 * DAY),
            *(pricing_view("c@small.io", at=T - DAY) for _ in range(3)),
            event("o@old.io", at=T - 3 * DAY),
            event("e@gmail.com", at=T - DAY),
            event("late@big.io", at=T + DAY),
        ]
    )
    Contact.objects.filter(email="early@gmail.com").update(created_at=T - 5 * DAY)
    won("a@big.io", T + 10 * DAY)
    won("c@small.io", T + 20 * DAY)
    won("o@old.io", T - DAY)
    won("e@gmail.com", T - 2 * DAY)


def test_the_backtest_reports_the_records_it_left_out_and_why(world):
    result = calibration_backtest(cutoff=T, horizon_days=30)

    assert result["left_out"] == {
        "contacts": {"created_after_cutoff": 1, "converted_before_cutoff": 2},
        "accounts": {"created_after_cutoff": 1, "converted_before_cutoff": 1},
    }
    assert (result["contacts"]["population"], result["accounts"]["population"]) == (4, 2)


def test_nothing_is_recommended_from_too_few_conversions(world):
    result = calibration_backtest(cutoff=T, horizon_days=30)

    assert result["guardrails"] == {"min_conversions": 30, "max_interval_width": 0.2}
    contacts = result["contacts"]
    assert (contacts["converted"], contacts["recommended"], contacts["refused"]) == (
        2, None, TOO_FEW,
    )  # fmt: skip
    assert [(name, f["recommended"], f["refused"]) for name, f in contacts["floors"].items()] == [
        ("fit_floor", None, TOO_FEW), ("engagement_floor", None, TOO_FEW),
    ]  # fmt: skip
    assert (result["accounts"]["recommended"], result["accounts"]["refused"]) == (
        None, TOO_FEW,
    )  # fmt: skip


def test_the_setting_sets_the_minimum_conversions(world, settings):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 3

    result = calibration_backtest(cutoff=T, horizon_days=30)

    assert result["guardrails"]["min_conversions"] == 3
    assert result["contacts"]["refused"] == (
        "only 2 conversions in the horizon; at least 3 are needed to recommend a threshold"
    )


def test_at_the_minimum_the_interval_still_guards_the_recommendation(world):
    result = calibration_backtest(cutoff=T, horizon_days=30, min_conversions=2)
    lenient = calibration_backtest(
        cutoff=T, horizon_days=30, min_conversions=2, max_interval_width=1.0
    )

    # Best F1: 1 to 60 select a (90) and c (60), both converted.
    assert result["contacts"]["recommended"] is None
    assert result["contacts"]["refused"] == (
        "the conversion rate at 60 (2 of 2) has a 95% interval of 0.342 to 1.000, wider than"
        " 0.2: too uncertain to recommend a threshold"
    )
    contacts = lenient["contacts"]
    assert (contacts["recommended"]["threshold"], contacts["refused"]) == (60.0, None)
    assert contacts["recommended"]["f1"] == 1.0
    assert contacts["recommended_interval"] == [0.3424, 1.0]


def test_the_api_gives_the_reason_instead_of_a_recommendation(api, world):
    response = api.post(
        "/api/v1/reports/calibration", {"cutoff": T.isoformat(), "horizon_days": 30}, format="json"
    )
    lowered = api.post(
        "/api/v1/reports/calibration",
        {"cutoff": T.isoformat(), "horizon_days": 30, "min_conversions": 2,
         "max_interval_width": 1},
        format="json",
    )  # fmt: skip

    assert response.status_code == 200
    body = response.json()
    assert (body["contacts"]["recommended"], body["contacts"]["refused"]) == (None, TOO_FEW)
    assert body["left_out"]["contacts"] == {"created_after_cutoff": 1, "converted_before_cutoff": 2}
    assert lowered.status_code == 200
    assert lowered.json()["contacts"]["recommended"]["threshold"] == 60.0


def test_the_api_refuses_a_minimum_below_one(api, world):
    response = api.post(
        "/api/v1/reports/calibration",
        {"cutoff": T.isoformat(), "horizon_days": 30, "min_conversions": 0},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "min_conversions"


def test_the_page_shows_the_reason_and_offers_no_draft(admin_client, world, active_model):
    page = admin_client.get(
        "/review/calibration/",
        {"cutoff": T.strftime("%Y-%m-%d %H:%M"), "horizon_days": 30, "label": "won", "goal": "f1"},
    )

    assert page.status_code == 200
    content = page.content.decode()
    assert f"no recommendation: {TOO_FEW}" in content
    assert 'id="make-draft"' not in content and "Create a draft" not in content
    assert (
        '<p class="error" id="no-draft">No draft can be made from this backtest:'
        f" contact.thresholds.total: {TOO_FEW}; account.thresholds.engagement: {TOO_FEW}.</p>"
    ) in content
    assert (
        "Left out: contacts 1 created after the cut-off (no event before it), 2 converted before"
        " it; accounts 1 created after the cut-off (no contact or signal before it), 1 converted"
        " before it."
    ) in content
    assert f"<code>fit_floor</code> 30 → no recommendation: {TOO_FEW}" in content

    # A hand-made post with the page's note is refused all the same, and creates nothing.
    response = admin_client.post(
        "/review/calibration/draft",
        {"version": active_model.id, "contact_total": "53",
         "backtest": page.context["draft_token"]},
    )  # fmt: skip

    assert response.status_code == 400
    assert (
        response.content.decode() == f"Cannot create the draft: contact.thresholds.total: {TOO_FEW}"
    )
    assert ScoringModelVersion.objects.count() == 1


def test_a_draft_post_without_the_backtests_note_creates_nothing(admin_client, active_model):
    response = admin_client.post(
        "/review/calibration/draft",
        {"version": active_model.id, "contact_total": "53", "backtest": "forged"},
    )

    assert response.status_code == 400
    assert response.content == (
        b"Cannot create the draft: run the backtest first: the draft form comes from its page"
    )
    assert ScoringModelVersion.objects.count() == 1


def test_a_lowered_minimum_on_the_page_offers_the_draft(admin_client, world, active_model):
    page = admin_client.get(
        "/review/calibration/",
        {"cutoff": T.strftime("%Y-%m-%d %H:%M"), "horizon_days": 30, "label": "won", "goal": "f1",
         "min_conversions": 2, "max_interval_width": 1},
    )  # fmt: skip

    content = page.content.decode()
    assert 'name="contact_total" value="60.0"' in content
    assert 'name="account_engagement" value="' in content
    response = admin_client.post(
        "/review/calibration/draft",
        {"version": active_model.id, "contact_total": "60.0",
         "backtest": page.context["draft_token"]},
    )  # fmt: skip

    draft = ScoringModelVersion.objects.get(version=active_model.version + 1)
    assert response.status_code == 302
    assert draft.document["contact"]["thresholds"]["total"] == 60.0


def test_the_command_prints_the_left_out_records_and_the_reason(world):
    out = io.StringIO()

    call_command("calibrate", "--cutoff", T.isoformat(), "--horizon-days", "30", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "left out: contacts 1 created after the cut-off, 2 converted before it;"
        " accounts 1 created after the cut-off, 1 converted before it"
    )
    assert lines[1:5] == [
        "contacts: population 4, converted 2 (base rate 50.0%); threshold contact.thresholds.total",
        f"  no recommendation: {TOO_FEW}",
        f"  fit_floor: current 30, recommended none: {TOO_FEW}",
        f"  engagement_floor: current 20, recommended none: {TOO_FEW}",
    ]
    assert f"  no recommendation: {TOO_FEW}" in lines
