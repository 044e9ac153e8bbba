"""The scoring-model pages of the admin: rollback, who changed what, the published model."""

from __future__ import annotations

import copy
import html as html_module
import re

import pytest

from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff, RescoreRun, ScoringModelAudit, ScoringModelVersion
from mqa.services.api_keys import api_key_create
from mqa.services.model_versions import (
    scoring_model_draft_update,
    scoring_model_import,
    scoring_model_publish,
)
from mqa.services.pipeline import pipeline_process
from mqa.services.routing import routing_document_put
from tests.factories import TEST_MODEL, mql_events

pytestmark = pytest.mark.django_db

PAGE = "/admin/mqa/scoringmodelversion/{}/change/"


def published(document, **actor) -> ScoringModelVersion:
    version = scoring_model_import(document=document, **actor)
    scoring_model_publish(version_id=version.pk, route=False, **actor)
    version.refresh_from_db()
    return version


def stricter() -> dict:
    document = copy.deepcopy(TEST_MODEL)
    document["contact"]["thresholds"]["total"] = 90
    return document


def text_of(html: str) -> str:
    """Text without tags, whitespace collapsed."""
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def paragraph(response, id_: str) -> str:
    """The text of the page's `<p id=...>`, tags removed."""
    found = re.search(rf'<p id="{id_}">(.*?)</p>', response.content.decode(), re.S)
    assert found, f"no #{id_}"
    return re.sub(r"\s+([.,;:])", r"\1", text_of(found[1]))


def history(response) -> list[tuple[str, str, str]]:
    """The change history as (what, who, changes) rows, newest first."""
    rows = re.findall(r'<tr class="audit-entry">(.*?)</tr>', response.content.decode(), re.S)
    cells = [
        re.findall(r'<td class="audit-(?:what|who|changes)">(.*?)</td>', r, re.S) for r in rows
    ]
    return [tuple(text_of(c) for c in row) for row in cells]


def test_a_retired_version_can_be_rolled_back_from_its_page(admin_client, admin_user):
    first = published(TEST_MODEL)
    published(stricter())

    page = admin_client.get(PAGE.format(first.pk))
    response = admin_client.post(
        f"/admin/mqa/scoringmodelversion/{first.pk}/rollback/", {"route": "true"}
    )

    assert 'id="rollback-form"' in page.content.decode()
    rolled = ScoringModelVersion.objects.get(state="active")
    assert (rolled.version, rolled.document) == (
        3,
        ScoringModelVersion.objects.get(pk=first.pk).document,
    )
    assert response.status_code == 302
    assert response["Location"] == f"/admin/mqa/scoringmodelversion/{rolled.pk}/progress/"
    assert RescoreRun.objects.get(model_version=rolled).route is True
    entry = ScoringModelAudit.objects.get(action="rolled_back")
    assert (entry.version, entry.source, entry.user, entry.username) == (
        rolled,
        first,
        admin_user,
        "admin",
    )


def test_the_rollback_needs_the_routing_choice(admin_client):
    first = published(TEST_MODEL)
    published(stricter())

    response = admin_client.post(f"/admin/mqa/scoringmodelversion/{first.pk}/rollback/", {})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert ScoringModelVersion.objects.count() == 2


def test_the_active_version_offers_no_rollback_and_refuses_one(admin_client):
    active = published(TEST_MODEL)

    page = admin_client.get(PAGE.format(active.pk))
    response = admin_client.post(
        f"/admin/mqa/scoringmodelversion/{active.pk}/rollback/", {"route": "false"}, follow=True
    )

    assert 'id="rollback-form"' not in page.content.decode()
    assert "Version 1 is already active: nothing to roll back to" in response.content.decode()
    assert ScoringModelVersion.objects.count() == 1


def test_the_change_history_names_the_api_key_or_the_user(admin_client, admin_user):
    key, _ = api_key_create(name="ci-deploy", scopes=["admin"])
    first = published(TEST_MODEL, api_key=key)
    published(stricter(), user=admin_user)

    first_page = admin_client.get(PAGE.format(first.pk))
    second_page = admin_client.get(PAGE.format(first.pk + 1))

    assert [row[:2] for row in history(first_page)] == [
        ("Published", "API key “ci-deploy”"),
        ("Imported", "API key “ci-deploy”"),
    ]
    assert [row[:2] for row in history(second_page)] == [
        ("Published", "admin"),
        ("Imported", "admin"),
    ]


def test_the_change_history_tells_each_rule_by_its_label(admin_client, admin_user):
    draft = scoring_model_import(document=TEST_MODEL, user=admin_user)
    edited = copy.deepcopy(draft.document)
    del edited["contact"]["fit"]["rules"][0]
    edited["contact"]["engagement"]["rules"][1]["points"] = 15
    edited["contact"]["thresholds"]["total"] = 80
    scoring_model_draft_update(version_id=draft.pk, document=edited, user=admin_user)

    rows = history(admin_client.get(PAGE.format(draft.pk)))

    assert rows[0] == (
        "Edited",
        "admin",
        "Contact fit rules “Senior” removed "
        'label : "Senior" attribute : "seniority" op : "in" value : ["vp", "c_level"] points : 30 '
        "Engagement rules “Pricing” changed points : 10 → 15 "
        "MQL: fit + engagement at least changed: 70 → 80",
    )


def test_after_publishing_with_routing_the_progress_page_counts_the_handoffs_and_links_the_unassigned(
    admin_client, django_capture_on_commit_callbacks
):
    # one queue with one member who takes two open handoffs at most
    routing_document_put(
        document={
            "format": "mqa.routing/v1",
            "queues": [{"name": "inbound", "members": [{"assignee": "al@us.io", "capacity": 2}]}],
            "default_queue": "inbound",
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = published(TEST_MODEL)
    contacts_upsert(items=[{"email": "early@acme.com", "seniority": "vp"}])
    events_ingest(items=mql_events("early@acme.com"))
    pipeline_process()  # handed to al under v1, before the publish
    emails = ["a@acme.com", "b@acme.com", "c@acme.com"]
    contacts_upsert(items=[{"email": e, "seniority": "vp"} for e in emails])
    events_ingest(items=[e for email in emails for e in mql_events(email)])
    draft = scoring_model_import(document=TEST_MODEL)

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/mqa/scoringmodelversion/{draft.pk}/publish/", {"route": "true"})
    page = admin_client.get(f"/admin/mqa/scoringmodelversion/{draft.pk}/progress/")

    run = RescoreRun.objects.get(model_version=draft)
    assert run.state == "done"
    assert Handoff.objects.filter(model_version=first).count() == 1
    assert paragraph(page, "rescore-handoffs") == (
        "Routing: this rescore created 3 handoffs; 2 are unassigned (no queue member could take "
        "them): see the unassigned handoffs."
    )
    link = re.search(r'<a id="unassigned-handoffs" href="([^"]+)"', page.content.decode())[1]
    assert html_module.unescape(link) == f"/admin/mqa/handoff/?rescore={run.pk}&unassigned__exact=1"
    listed = admin_client.get(html_module.unescape(link))
    assert sorted(h.contact.email for h in listed.context["cl"].result_list) == sorted(
        h.contact.email for h in Handoff.objects.filter(model_version=draft, unassigned=True)
    )
    assert listed.context["cl"].result_count == 2


def test_publishing_without_routing_says_nothing_was_handed_off(
    admin_client, django_capture_on_commit_callbacks
):
    contacts_upsert(items=[{"email": "a@acme.com", "seniority": "vp"}])
    events_ingest(items=mql_events("a@acme.com"))
    draft = scoring_model_import(document=TEST_MODEL)

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/mqa/scoringmodelversion/{draft.pk}/publish/", {"route": "false"})
    page = admin_client.get(f"/admin/mqa/scoringmodelversion/{draft.pk}/progress/")

    assert paragraph(page, "rescore-handoffs") == (
        "Routing: off for this publish — no handoffs were created."
    )
    assert not Handoff.objects.exists()


def table(response, id_: str) -> list[list[str]]:
    """The body rows of `<table id=...>` as cell texts."""
    found = re.search(
        rf'<table[^>]* id="{id_}".*?<tbody>(.*?)</tbody>', response.content.decode(), re.S
    )
    assert found, f"no #{id_}"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", found[1], re.S)
    return [[text_of(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)] for r in rows]


def test_a_published_model_reads_as_sections_and_tables_with_a_json_download(admin_client):
    enterprise = {
        "name": "Enterprise",
        "when": [{"attribute": "employee_count", "op": "gte", "value": 1000}],
        "contact": {"thresholds": {"total": 90}},
    }
    active = published({**TEST_MODEL, "segments": [enterprise]})

    page = admin_client.get(PAGE.format(active.pk))

    assert table(page, "model-contact_fit") == [
        ["Senior", "seniority in vp, c_level", "30"],
        ["Big account", "account.employee_count gte 200", "20"],
    ]
    assert table(page, "model-engagement") == [
        ["Demo", "demo_request", "—", "40", "—", "90", "—"],
        ["Pricing", "page_view", "url contains /pricing", "10", "3", "30", "—"],
    ]
    assert table(page, "model-contact_disq") == [["seniority eq student", "student"]]
    assert table(page, "model-role_weights") == [["decision_maker", "2.0"], ["champion", "1.5"]]
    assert ["MQL: fit + engagement at least", "70"] in table(page, "model-settings")
    assert ["MQA: required roles", "decision_maker"] in table(page, "model-settings")
    assert table(page, "model-segment-0-when") == [["employee_count gte 1000"]]
    assert table(page, "model-segment-0-settings") == [["MQL: fit + engagement at least", "90"]]
    assert (
        f'<a class="button" id="download-json" href="/admin/mqa/scoringmodelversion/{active.pk}/export/">'
        in page.content.decode()
    )
    assert "<pre" not in page.content.decode()
