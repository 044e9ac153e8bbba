"""A marketer backtests the thresholds, reads the charts and turns the recommendation into a
draft; then downloads the funnel as CSV — in a real browser against a live server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff, ScoringModelVersion
from tests.browser.test_review_flow import log_in
from tests.conftest import publish
from tests.factories import event, pricing_view

pytestmark = pytest.mark.django_db(transaction=True)
T = (timezone.now() - timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def history(test_document):
    with transaction.atomic():
        publish(test_document, route=False)
    accounts_upsert(items=[{"domain": "big.io", "employee_count": 500}])
    contacts_upsert(items=[{"email": "a@big.io", "seniority": "vp"}, {"email": "b@big.io"}])
    events_ingest(
        items=[
            event("a@big.io", at=T - timedelta(days=3)),
            pricing_view("b@big.io", at=T - timedelta(days=1)),
        ]
    )
    Handoff.objects.create(
        kind="lead", contact=Contact.objects.get(email="a@big.io"), status="accepted",
        created_at=T + timedelta(days=1), accepted_at=T + timedelta(days=1, hours=3),
        outcome="won", outcome_at=T + timedelta(days=9),
    )  # fmt: skip
    get_user_model().objects.create_superuser("marketer", "m@example.com", "secret-pass")


def test_backtest_then_draft_then_funnel_csv(live_server, page, history):
    log_in(page, live_server, "/review/calibration/")
    page.fill("#id_cutoff", T.strftime("%Y-%m-%d %H:%M"))
    page.fill("#id_horizon_days", "30")
    # One conversion: the guardrails (30 conversions, a 0.2-wide interval) are lowered to 1.
    page.fill("#id_min_conversions", "1")
    page.fill("#id_max_interval_width", "1")
    page.click("text=Run backtest")
    page.wait_for_selector("#contacts-curve")

    drawn = page.evaluate(
        "() => ['curve', 'deciles', 'distribution'].map("
        "k => Chart.getChart(document.getElementById('contacts-' + k)).data.datasets[0].data.length)"
    )
    assert drawn == [90, 10, 20]  # thresholds 1..90, ten deciles, twenty bins
    # Each chart says in words what it draws (its text alternative).
    deciles = page.get_attribute("#contacts-deciles", "aria-label")
    assert deciles.startswith("Conversion rate by score decile, lowest first: ")
    assert len(deciles.removesuffix(".").split(": ")[1].split(", ")) == 10
    assert page.get_attribute("#contacts-distribution", "role") == "img"
    # Every threshold from 51 to 90 selects the same one lead: the current 70 stays.
    assert page.input_value("input[name=contact_total]") == "70.0"

    page.click("text=Create a draft with these thresholds")
    page.wait_for_url("**/admin/mqa/scoringmodelversion/*/change/")
    draft = ScoringModelVersion.objects.get(state="draft")
    assert draft.document["contact"]["thresholds"]["total"] == 70.0

    page.goto(f"{live_server.url}/review/funnel/?kind=lead&group_by=lead_source")
    with page.expect_download() as download:
        page.click("#csv")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].startswith("group,mql,accepted,sql,opportunity,won,")
    assert lines[-1].startswith("(total),1,1,1,1,1,1.0,1.0,1.0,1.0,1.0,0,")
