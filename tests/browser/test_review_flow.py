"""A marketer edits a rule, previews, publishes; an ABM reviewer sees the account qualify and
rejects its handoff — in a real browser against a live server."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import AccountScore, Handoff, ScoringModelVersion
from mqa.services.pipeline import pipeline_process
from tests.conftest import publish
from tests.factories import event, pricing_view

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme(test_document):
    """A target account one criterion short: engagement 40×2 + 10×1.5 = 95 of 150."""
    from django.db import transaction

    with transaction.atomic():
        publish(test_document)
    accounts_upsert(
        items=[{"domain": "acme.com", "name": "Acme", "employee_count": 500, "is_target": True}]
    )
    contacts_upsert(
        items=[
            {"email": "ceo@acme.com", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": "vp@acme.com", "seniority": "vp", "buying_role": "champion"},
        ]
    )
    events_ingest(items=[event("ceo@acme.com"), pricing_view("vp@acme.com")])
    pipeline_process()
    assert AccountScore.objects.get(account__domain="acme.com").status == "engaged"
    get_user_model().objects.create_superuser("marketer", "m@example.com", "secret-pass")


def log_in(page, live_server, next_path: str) -> None:
    """Log in as `marketer` and wait until the browser is on `next_path`."""
    page.goto(f"{live_server.url}/admin/login/?next={quote(next_path)}")
    page.fill("#id_username", "marketer")
    page.fill("#id_password", "secret-pass")
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/admin/login/" not in url)


def test_edit_preview_publish_then_review_and_reject(live_server, page, acme):
    log_in(page, live_server, "/admin/mqa/scoringmodelversion/")
    page.click("#new-draft")
    page.wait_for_selector("#rule-editor")
    assert page.input_value("#id_engagement-0-label") == "Demo"
    page.fill("#id_engagement-0-points", "80")
    page.click("#save-draft")
    page.wait_for_selector("text=Saved draft")
    draft = ScoringModelVersion.objects.get(state="draft")
    assert draft.document["contact"]["engagement"]["rules"][0]["points"] == 80

    page.click("#preview-link")
    row = page.locator("#preview-accounts tbody tr").first
    assert row.inner_text().split("\t")[:3] == ["engaged", "mqa", "1"]
    assert "acme.com" in row.inner_text()
    assert (
        AccountScore.objects.get(account__domain="acme.com").status == "engaged"
    )  # preview stores nothing

    page.click("#publish-link")
    page.check("input[name=route][value=true]")
    page.click("#publish-submit")
    page.wait_for_selector("#progress-state[data-state=done]")

    page.goto(f"{live_server.url}/review/?target=yes")
    first = page.locator("#accounts tbody tr").first
    assert "Acme" in first.inner_text() and "MQA" in first.inner_text()
    first.locator("a").click()
    page.wait_for_selector("#missing")
    assert page.inner_text("#missing") == "Nothing — every criterion is met."

    handoff = Handoff.objects.get(account__domain="acme.com")
    page.select_option(f"#handoff-{handoff.id} select[name=reason]", "timing")
    page.fill(f"#handoff-{handoff.id} input[name=note]", "budget frozen until Q3")
    page.click(f"#handoff-{handoff.id} button.reject")
    page.wait_for_selector(f"#handoff-{handoff.id} .handoff-status[data-status=rejected]")

    assert "Rejected · Timing" in page.inner_text(f"#handoff-{handoff.id}")
    handoff.refresh_from_db()
    assert (handoff.status, handoff.reason, handoff.note) == (
        "rejected",
        "timing",
        "budget frozen until Q3",
    )
