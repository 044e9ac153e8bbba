"""Marketing ops in the admin, in real Chromium: a routed publish says how many handoffs nobody
could take; an earlier version comes back in one step; the history names rules by label and
who changed them; the published model reads as tables; a webhook to a host that does not
exist is refused in words."""

from __future__ import annotations

import pytest

from mqa.models import Handoff, ScoringModelVersion, WebhookSubscription
from mqa.services.routing import routing_document_put
from tests.browser.test_review_flow import acme, log_in  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

NOBODY_FREE = {
    "format": "mqa.routing/v1",
    "queues": [{"name": "abm", "members": [{"assignee": "eli@vendor.example", "active": False}]}],
    "rules": [],
    "default_queue": "abm",
    "abm_queue": "abm",
    "lead_sla_hours": 24,
    "account_sla_hours": 48,
    "recycle_cooldown_days": 30,
}


def test_a_routed_publish_counts_its_unassigned_handoffs_then_one_step_rolls_it_back(
    live_server,
    page,
    acme,  # noqa: F811
):
    routing_document_put(document=NOBODY_FREE)
    first = ScoringModelVersion.objects.get(state="active")
    log_in(page, live_server, "/admin/mqa/scoringmodelversion/")
    page.click("#new-draft")
    page.wait_for_selector("#rule-editor")
    page.fill("#id_engagement-0-points", "80")  # Acme's demo request now makes it an MQA
    page.click("#save-draft")
    page.wait_for_selector("text=Saved draft")
    history = page.inner_text("#change-history")
    assert "Engagement rules “Demo” changed" in history and "40 → 80" in history
    assert "marketer" in history

    page.click("#publish-link")
    page.check("input[name=route][value=true]")
    page.click("#publish-submit")
    page.wait_for_selector("#progress-state[data-state=done]")
    handoff = Handoff.objects.get(account__domain="acme.com")
    assert (handoff.assignee, handoff.unassigned) == (None, True)
    said = page.inner_text("#rescore-handoffs")
    assert said == (
        "Routing: this rescore created 1 handoff; 1 is unassigned (no queue member could "
        "take them): see the unassigned handoffs."
    )
    page.click("#unassigned-handoffs")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 1

    # One step back to the first version, retired by the publish: a copy becomes active.
    page.goto(f"{live_server.url}/admin/mqa/scoringmodelversion/{first.pk}/change/")
    assert page.locator("pre").count() == 0  # the model as tables, not a JSON dump
    assert page.locator(".mqa-model table").count() >= 4
    page.check("#rollback-form input[name=route][value=false]")
    page.click("#rollback-submit")
    page.wait_for_selector("#progress-state[data-state=done]")
    states = dict(ScoringModelVersion.objects.values_list("version", "state"))
    assert states == {1: "retired", 2: "retired", 3: "active"}
    third = ScoringModelVersion.objects.get(version=3)
    assert third.document == first.document
    audits = third.audit.order_by("id").values_list("action", "source_id", "username")
    assert list(audits) == [("rolled_back", first.pk, "marketer"), ("published", None, "marketer")]


def test_a_webhook_to_a_host_that_does_not_exist_is_refused_in_words(live_server, page, acme):  # noqa: F811
    log_in(page, live_server, "/admin/mqa/webhooksubscription/add/")
    page.fill("#id_url", "https://no-such-host.invalid/hooks")
    page.click("input[name=_save]")
    page.wait_for_selector(".errorlist")
    errors = page.inner_text("#content")
    assert "The URL's host “no-such-host.invalid” was not found in DNS" in errors
    assert "Errno" not in errors
    assert WebhookSubscription.objects.count() == 0
