"""Marketing ops in the admin, in a real browser against a live server: rules added to a
draft with the "Add …" button (by mouse and by keyboard), every field named."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from mqa.models import ScoringModelVersion
from mqa.services.model_versions import scoring_model_import
from tests.browser.test_review_flow import log_in
from tests.factories import TEST_MODEL

pytestmark = pytest.mark.django_db(transaction=True)

UNNAMED = """() => Array.from(document.querySelectorAll(
    '#rule-editor input:not([type=hidden]):not([type=submit]), #rule-editor select, #rule-editor textarea'))
  .filter(el => !el.closest('template') && !el.getAttribute('aria-label') && !el.labels.length)
  .map(el => el.name)"""


@pytest.fixture
def draft():
    get_user_model().objects.create_superuser("marketer", "m@example.com", "secret-pass")
    return scoring_model_import(document=TEST_MODEL)


def test_add_rule_twice_fill_both_and_save(live_server, page, draft):
    log_in(page, live_server, f"/admin/mqa/scoringmodelversion/{draft.pk}/change/")
    page.wait_for_selector("#rule-editor")
    assert page.locator("#rules-contact_fit tbody tr").count() == 3  # two rules, one blank

    page.click("text=Add contact fit rule")
    add = page.get_by_role("button", name="Add contact fit rule", exact=True)
    add.focus()
    page.keyboard.press("Enter")  # the second by keyboard: the focus moves to the new row

    assert page.evaluate("() => document.activeElement.name") == "contact_fit-4-label"
    assert page.input_value("#id_contact_fit-TOTAL_FORMS") == "5"
    page.get_by_label("Contact fit rule 4 label").fill("Director")
    page.get_by_label("Contact fit rule 4 attribute").fill("seniority")
    page.get_by_label("Contact fit rule 4 operator").select_option("eq")
    page.get_by_label("Contact fit rule 4 value").fill("director")
    page.get_by_label("Contact fit rule 4 points").fill("15")
    page.keyboard.press("Tab")
    page.get_by_label("Contact fit rule 5 label").fill("Sales")
    page.get_by_label("Contact fit rule 5 attribute").fill("job_function")
    page.get_by_label("Contact fit rule 5 operator").select_option("in")
    page.get_by_label("Contact fit rule 5 value").fill("sales, marketing")
    page.get_by_label("Contact fit rule 5 points").fill("5")
    assert page.evaluate(UNNAMED) == []
    page.click("#save-draft")
    page.wait_for_selector("text=Saved draft")

    draft.refresh_from_db()
    assert draft.document["contact"]["fit"]["rules"] == [
        TEST_MODEL["contact"]["fit"]["rules"][0],
        TEST_MODEL["contact"]["fit"]["rules"][1],
        {
            "label": "Director",
            "attribute": "seniority",
            "op": "eq",
            "value": "director",
            "points": 15,
        },
        {
            "label": "Sales",
            "attribute": "job_function",
            "op": "in",
            "value": ["sales", "marketing"],
            "points": 5,
        },
    ]
    assert ScoringModelVersion.objects.count() == 1
