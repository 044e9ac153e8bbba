"""A marketer relaxes one segment's required roles in the rule editor, previews the change per
segment, publishes, and sees the segment's account qualify on the review page — in a real
browser against a live server."""

from __future__ import annotations

import copy

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import AccountScore, ScoringModelVersion
from mqa.services.pipeline import pipeline_process
from tests.browser.test_review_flow import log_in
from tests.conftest import publish
from tests.factories import TEST_MODEL, mql_events

pytestmark = pytest.mark.django_db(transaction=True)

ENTERPRISE = {
    "name": "Enterprise",
    "when": [{"attribute": "employee_count", "op": "gte", "value": 1000}],
    "account": {"thresholds": {"required_roles": ["decision_maker", "economic_buyer"]}},
}


@pytest.fixture
def globex():
    """An enterprise account that meets every MQA criterion but its segment's required roles:
    fit 50, two MQL contacts covering decision_maker and champion, engagement 70×2 + 70×1.5."""
    document = copy.deepcopy(TEST_MODEL) | {"segments": [ENTERPRISE]}
    with transaction.atomic():
        publish(document, route=False)
    accounts_upsert(
        items=[
            {"domain": "globex.com", "name": "Globex", "employee_count": 5000, "is_target": True},
            {"domain": "initech.com", "name": "Initech", "employee_count": 300},
        ]
    )
    contacts_upsert(
        items=[
            {"email": "ceo@globex.com", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": "vp@globex.com", "seniority": "vp", "buying_role": "champion"},
            {"email": "bob@initech.com", "seniority": "vp", "buying_role": "champion"},
        ]
    )
    events_ingest(
        items=mql_events("ceo@globex.com")
        + mql_events("vp@globex.com")
        + mql_events("bob@initech.com")
    )
    pipeline_process()
    score = AccountScore.objects.get(account__domain="globex.com")
    assert (score.status, score.segment) == ("engaged", "Enterprise")
    assert [m["criterion"] for m in score.missing] == ["required_roles"]
    get_user_model().objects.create_superuser("marketer", "m@example.com", "secret-pass")


def test_edit_a_segment_preview_it_publish_then_its_account_qualifies(live_server, page, globex):
    log_in(page, live_server, "/admin/mqa/scoringmodelversion/")
    page.click("#new-draft")
    page.wait_for_selector("#rule-editor")
    assert page.inner_text("#segment-0-overrides") == (
        "Overrides: account thresholds.required_roles — inherits everything else."
    )
    assert page.input_value("#id_segments-0-name") == "Enterprise"
    assert page.input_value("#id_segments-0-when-0-attribute") == "employee_count"
    assert page.input_value("#id_segments-0-when-0-value") == "1000"
    assert page.is_checked("#id_segments-0-override_account_thresholds_required_roles")
    assert page.input_value("#id_segments-0-account_required_roles") == (
        "decision_maker, economic_buyer"
    )
    assert not page.is_checked("#id_segments-0-override_account_thresholds_min_roles")
    assert page.input_value("#id_segments-0-account_min_roles") == "2"  # inherited

    page.fill("#id_segments-0-account_required_roles", "decision_maker")
    page.fill("#id_segments-0-account_min_engaged_contacts", "2")  # editing an inherited value
    assert page.is_checked("#id_segments-0-override_account_thresholds_min_engaged_contacts")
    page.click("#save-draft")
    page.wait_for_selector("text=Saved draft")
    assert page.inner_text("#segment-0-overrides") == (
        "Overrides: account thresholds.min_engaged_contacts, account thresholds.required_roles"
        " — inherits everything else."
    )

    draft = ScoringModelVersion.objects.get(state="draft")
    assert draft.document["segments"] == [
        {
            "name": "Enterprise",
            "when": [{"attribute": "employee_count", "op": "gte", "value": 1000}],
            "account": {
                "thresholds": {"min_engaged_contacts": 2, "required_roles": ["decision_maker"]}
            },
        }
    ]

    page.click("#preview-link")
    page.wait_for_selector("#preview-segments")
    enterprise = page.locator("#preview-segments tbody[data-segment=Enterprise]")
    assert enterprise.locator(".preview-segment-total").inner_text().split("\t") == [
        "Enterprise",
        "contacts: 0 of 2 change · accounts: 1 of 1 change",
    ]
    assert enterprise.locator(".preview-segment-change").inner_text().split("\t") == [
        "",
        "accounts",
        "engaged",
        "mqa",
        "1",
        "globex.com",
    ]
    none = page.locator("#preview-segments tbody[data-segment='']")
    assert none.locator(".preview-segment-total").inner_text().split("\t") == [
        "(no segment)",
        "contacts: 0 of 1 change · accounts: 0 of 1 change",
    ]
    assert none.locator(".preview-segment-change").count() == 0
    assert AccountScore.objects.get(account__domain="globex.com").status == "engaged"

    page.click("#publish-link")
    page.check("input[name=route][value=false]")
    page.click("#publish-submit")
    page.wait_for_selector("#progress-state[data-state=done]")

    page.goto(f"{live_server.url}/review/?target=yes")
    rows = page.locator("#accounts tbody tr")
    assert rows.count() == 1
    headers = page.locator("#accounts thead th").all_text_contents()
    cells = dict(zip(headers, rows.first.locator("td").all_inner_texts(), strict=True))
    assert cells.pop("Status, since").startswith("MQA\nsince ")
    assert {k: v for k, v in cells.items() if k != "Owner"} == {
        "Account": "Globex Target\nglobex.com · Enterprise",
        "Fit": "50",
        "Engagement": "245.0",
        "Engaged": "2",
        "Roles covered": "champion, decision_maker",
        "Missing for MQA": "—",
        "Handoff": "—",
    }
    score = AccountScore.objects.get(account__domain="globex.com")
    assert (score.status, score.segment, score.model_version_id) == (
        "mqa",
        "Enterprise",
        draft.pk,
    )
