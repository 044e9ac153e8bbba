"""What an ABM manager does on the review pages, in real Chromium over the demo data: reject a
lead with a reason, read the funnel, see why an account is (not) an MQA and who could fill its
missing role, assign an unassigned handoff, record an outcome, sort, filter and export the
account list."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.models import Account
from contacts.models import Contact, EngagementEvent
from contacts.selectors import missing_of
from mqa.models import AccountScore, AccountStatusChange, ContactScore, Handoff
from mqa.models.routing import RejectReason
from mqa.review.display import criterion_label
from tests.browser.test_review_flow import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_lead_queue_offers_every_reject_reason_and_stores_the_one_picked(
    live_server, page, demo
):
    handoff = Handoff.objects.filter(kind="lead", status="open").order_by("due_at", "id").first()
    assert handoff is not None
    log_in(page, live_server, "/review/leads/")
    reasons = page.locator(f"#handoff-{handoff.id} select[name=reason] option").all_inner_texts()
    assert reasons == ["Reason…", *(label for _, label in RejectReason.choices)]
    assert page.get_attribute(f"label[for=reason-{handoff.id}]", "class") == "visually-hidden"

    page.select_option(f"#reason-{handoff.id}", "timing")
    page.fill(f"#note-{handoff.id}", "next quarter")
    page.click(f"#handoff-{handoff.id} button.reject")
    page.wait_for_selector(f"#handoff-{handoff.id} [data-status=rejected]")
    handoff.refresh_from_db()
    assert (handoff.status, handoff.reason, handoff.note) == ("rejected", "timing", "next quarter")


def test_the_funnel_reads_in_words_percentages_and_durations(live_server, page, demo):
    log_in(page, live_server, "/review/funnel/?kind=lead&group_by=lead_source")
    headers = page.locator("#funnel-outcomes thead th").all_inner_texts()
    assert headers == [
        "Group", "Rejected", "Reasons", "Speed to lead (median)", "Speed to lead (90th pct.)",
        "SLA breached",
    ]  # fmt: skip
    stages = page.locator("#funnel-stages thead th").all_inner_texts()
    assert stages == ["Group", "MQL", "Accepted", "SQL", "Opportunity", "Won", "Overall"]
    total = page.locator("#funnel-stages tr.total td").all_inner_texts()
    handoffs = Handoff.objects.filter(kind="lead")
    mql, accepted = handoffs.count(), handoffs.filter(status="accepted").count()
    assert total[0] == str(mql)
    count, rate = total[1].split()
    assert count == str(accepted) and rate.endswith("%")
    assert abs(float(rate[:-1]) - accepted / mql * 100) <= 0.051
    speed = page.locator("#funnel-outcomes tr.total td").nth(2).inner_text()
    assert speed.endswith(("min", " h", " d")) and "." not in speed
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400


def test_an_event_type_has_one_colour_on_every_account(live_server, page, demo):
    two = (
        Account.objects.annotate(types=Count("contacts__events__type", distinct=True))
        .filter(contacts__events__type="page_view", types__gte=2)
        .distinct()
        .order_by("domain")[:2]
    )
    assert len(two) == 2
    log_in(page, live_server, "/review/")
    colours = []
    for account in two:
        page.goto(f"{live_server.url}/review/accounts/{account.domain}/")
        page.wait_for_function("window.Chart && Chart.getChart('engagement-chart')")
        drawn = page.evaluate(
            "Object.fromEntries(Chart.getChart('engagement-chart').data.datasets"
            ".map(d => [d.label, d.backgroundColor]))"
        )
        colours.append(drawn)
    assert colours[0]["Page view"] == colours[1]["Page view"] == "#0072b2"
    shared = set(colours[0]) & set(colours[1])
    assert {colours[0][t] for t in shared} == {colours[1][t] for t in shared}


def _account_missing_a_required_role() -> tuple[Account, str, Any]:
    for score in AccountScore.objects.select_related("account").order_by("account__domain"):
        for missing in score.missing:
            if missing["criterion"] != "required_roles":
                continue
            role = sorted(set(missing["required"]) - set(missing["actual"]))[0]
            holder = score.account.contacts.filter(buying_role=role).order_by("email").first()
            if holder is not None:
                return score.account, role, holder
    raise AssertionError("the demo has an account whose missing required role someone holds")


def test_the_account_page_says_why_in_words_and_who_could_fill_the_missing_role(
    live_server, page, demo
):
    account, role, holder = _account_missing_a_required_role()
    log_in(page, live_server, f"/review/accounts/{account.domain}/")
    unmet = page.locator("#criteria li.unmet").all_inner_texts()
    assert any(line.startswith("✗ not met — Required roles: has ") for line in unmet), unmet
    assert page.locator("#criteria li").count() == 6
    row = page.locator(f"#buying-group li[data-role={role}]")
    assert row.get_attribute("class") == "uncovered"
    name = f"{holder.first_name} {holder.last_name}"
    assert f"Could fill it: {name}" in row.locator(".could-fill").inner_text()
    page.wait_for_function("window.Chart && Chart.getChart('trend-chart')")
    trend = page.evaluate(
        "Chart.getChart('trend-chart').data.datasets.map(d => [d.label, d.data.length])"
    )
    assert trend == [["engagement", 12], ["fit", 12], ["MQA engagement threshold", 12]]
    lacking = [
        c
        for c in account.contacts.select_related("account", "score", "score__model_version")
        if c.score.status != "mql"
    ]
    assert lacking, "the account has a contact that is not an MQL"
    cells = page.locator("#contacts td.contact-missing").all_inner_texts()
    assert (
        sum(1 for cell in cells if cell == "nothing")
        == account.contacts.filter(score__status="mql").count()
    )
    first = lacking[0]
    row = page.locator("#contacts tr", has_text=first.email)
    expected = [
        f"{criterion_label(m['criterion'])}: {m['actual']} of {m['required']}"
        for m in missing_of(first)
    ]
    assert expected and row.locator("td.contact-missing .missing").all_inner_texts() == expected
    assert page.locator("#feed li").count() == min(
        15,
        EngagementEvent.objects.filter(contact__account=account).count() + account.signals.count(),
    )


def unassign(handoff: Handoff) -> None:
    """As routing leaves a handoff when no queue member is eligible (SPEC §6)."""
    Handoff.objects.filter(pk=handoff.pk).update(assignee=None, unassigned=True)


def test_an_unassigned_handoff_is_assigned_from_the_account_page(live_server, page, demo):
    handoff = Handoff.objects.filter(kind="account", status="open").order_by("id").first()
    assert handoff is not None
    unassign(handoff)
    log_in(page, live_server, f"/review/accounts/{handoff.account.domain}/")
    assert "unassigned" in page.inner_text(f"#handoff-{handoff.id}")
    page.fill(f"#assignee-{handoff.id}", "  rep@vendor.example ")
    page.click(f"#handoff-{handoff.id} button.assign")
    page.wait_for_selector(f"#handoff-{handoff.id} >> text=to rep@vendor.example")
    handoff.refresh_from_db()
    assert (handoff.assignee, handoff.unassigned, handoff.status) == (
        "rep@vendor.example", False, "open",
    )  # fmt: skip


def test_outcome_buttons_record_how_an_accepted_handoff_ended(live_server, page, demo):
    handoff = Handoff.objects.filter(status="accepted", outcome=None, kind="lead").first()
    assert handoff is not None
    log_in(page, live_server, "/review/leads/?status=accepted")
    while not page.locator(f"#handoff-{handoff.id}").count():
        page.click("text=Next →")
    page.click(f"#handoff-{handoff.id} .outcome-form button[value=opportunity]")
    page.wait_for_selector(f"#handoff-{handoff.id} [data-outcome=opportunity]")
    handoff.refresh_from_db()
    assert handoff.outcome == "opportunity"
    # an outcome cannot go back: the buttons now start after it
    page.click(f"#handoff-{handoff.id} .outcome-form button[value=sql]")
    page.wait_for_selector(f"#handoff-{handoff.id} .error")
    handoff.refresh_from_db()
    assert handoff.outcome == "opportunity"


def test_the_account_list_sorts_filters_unassigned_handoffs_and_exports(
    live_server, page, demo, tmp_path: Path
):
    for handoff in Handoff.objects.filter(kind="account", status="open").order_by("id")[:3]:
        unassign(handoff)
    log_in(page, live_server, "/review/")
    week_ago = timezone.now() - timedelta(days=7)
    new = AccountStatusChange.objects.filter(to_status="mqa", changed_at__gte=week_ago)
    count = new.values("account").distinct().count()
    assert count and page.inner_text("#new-mqas").startswith(
        f"{count} accounts became MQAs in the last 7 days"
    )
    page.click("#accounts thead >> text=Fit")
    page.wait_for_url("**sort=fit")
    fits = [int(t) for t in page.locator("#accounts td[data-label=Fit]").all_inner_texts()]
    assert fits == sorted(fits) and len(fits) == 50
    assert page.get_attribute("#accounts th[aria-sort]", "aria-sort") == "ascending"
    page.click("#accounts thead >> text=Fit")
    page.wait_for_url("**sort=-fit")
    fits = [int(t) for t in page.locator("#accounts td[data-label=Fit]").all_inner_texts()]
    assert fits == sorted(fits, reverse=True)

    page.select_option("#id_handoff", "unassigned")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**handoff=unassigned**")
    unassigned = sorted(
        Handoff.objects.filter(kind="account", status="open", assignee=None).values_list(
            "account__domain", flat=True
        )
    )
    assert unassigned
    shown = page.locator("#accounts td[data-label=Account] .sub").all_inner_texts()
    assert sorted(s.split(" · ")[0] for s in shown) == unassigned

    with page.expect_download() as download:
        page.click("#accounts-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sorted(r["domain"] for r in rows) == unassigned
    assert {(r["handoff_status"], r["handoff_assignee"]) for r in rows} == {("open", "")}


def test_a_lead_whose_score_fell_since_its_handoff_says_what_it_now_lacks(live_server, page, demo):
    first, second = Handoff.objects.filter(kind="lead", status="open").order_by("due_at", "id")[:2]
    ContactScore.objects.filter(contact=first.contact).update(engagement=0)
    log_in(page, live_server, "/review/leads/")
    contact = Contact.objects.select_related("account", "score", "score__model_version").get(
        pk=first.contact_id
    )
    expected = [
        f"{criterion_label(m['criterion'])}: {m['actual']} of {m['required']}"
        for m in missing_of(contact)
    ]
    assert expected and expected[0].startswith("Engagement floor: 0.0 of ")
    row = page.locator("#leads tr", has_text=first.contact.email)
    assert row.locator(".lead-missing .missing").all_inner_texts() == expected
    still = page.locator("#leads tr", has_text=second.contact.email)
    assert still.locator(".lead-missing").count() == 0
