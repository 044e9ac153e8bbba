"""Segments in the admin rule editor: added, ordered, removed, overridden, errors on their field."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from mqa.admin.rule_editor import RuleEditor
from mqa.models import ScoringModelVersion
from mqa.scoring import DocumentError, dump_document, parse_document
from mqa.services.model_versions import scoring_model_import
from tests.admin.test_rule_editor import post_data
from tests.factories import TEST_MODEL

ENTERPRISE = {
    "name": "Enterprise",
    "when": [{"attribute": "employee_count", "op": "gte", "value": 1000}],
    "contact": {"thresholds": {"total": 90}},
    "account": {"thresholds": {"required_roles": ["decision_maker", "economic_buyer"]}},
}
SMB = {
    "name": "SMB",
    "when": [
        {"attribute": "employee_count", "op": "lt", "value": 200},
        {"attribute": "country", "op": "in", "value": ["de", "fr"]},
    ],
    "contact": {
        "engagement": {
            "cap": 80,
            "rules": [{"label": "Demo", "event_type": "demo_request", "points": 60}],
        }
    },
    "account": {"thresholds": {"min_roles": 0}},
}
SEGMENTED = dump_document(parse_document({**TEST_MODEL, "segments": [ENTERPRISE, SMB]}))
PLAIN = dump_document(parse_document(TEST_MODEL))


def edited(document: dict[str, Any], changes: dict[str, Any], drop: tuple[str, ...] = ()):
    """The editor bound to what a browser sends after these changes (`drop`: unticked boxes)."""
    data = post_data(RuleEditor(document), changes)
    for name in drop:
        del data[name]
    editor = RuleEditor(document, data)
    assert editor.is_valid(), {p: fs.errors for p, fs in editor.formsets.items() if fs.errors}
    return editor


def errors_of(editor: RuleEditor) -> None:
    with pytest.raises(DocumentError) as raised:
        parse_document(editor.document())
    editor.add_errors(raised.value.errors)


def test_the_editor_round_trips_segments_unchanged():
    editor = edited(SEGMENTED, {})

    assert dump_document(parse_document(editor.document())) == SEGMENTED


def test_a_new_segment_is_added_with_its_conditions_and_an_override():
    editor = edited(
        PLAIN,
        {
            "segments-0-name": "Enterprise",
            "segments-0-when-0-attribute": "employee_count",
            "segments-0-when-0-op": "gte",
            "segments-0-when-0-value": "1000",
            "segments-0-override_account_thresholds_required_roles": "on",
            "segments-0-account_required_roles": "decision_maker, economic_buyer",
        },
    )

    document = editor.document()

    assert document["segments"] == [
        {
            "name": "Enterprise",
            "when": [{"attribute": "employee_count", "op": "gte", "value": 1000}],
            "account": {"thresholds": {"required_roles": ["decision_maker", "economic_buyer"]}},
        }
    ]
    segment = parse_document(document).segments[0]
    assert (segment.contact_overrides, segment.account_overrides) == (
        (),
        ("thresholds.required_roles",),
    )


def test_an_untouched_new_segment_form_adds_nothing():
    editor = edited(PLAIN, {})

    assert editor.document()["segments"] == []


def test_segments_are_reordered_by_their_order_field():
    editor = edited(SEGMENTED, {"segments-0-ORDER": "2", "segments-1-ORDER": "1"})

    document = dump_document(parse_document(editor.document()))

    assert document["segments"] == [SEGMENTED["segments"][1], SEGMENTED["segments"][0]]


def test_a_removed_segment_leaves_the_document():
    editor = edited(SEGMENTED, {"segments-0-DELETE": "on"})

    assert [s["name"] for s in editor.document()["segments"]] == ["SMB"]


def test_an_override_unticked_is_inherited_from_the_top_level_again():
    editor = edited(SEGMENTED, {}, drop=("segments-1-override_contact_engagement",))

    document = editor.document()

    assert document["segments"][1] == {
        "name": "SMB",
        "when": SMB["when"],
        "account": {"thresholds": {"min_roles": 0}},
    }
    model = parse_document(document)
    assert model.segments[1].contact.engagement_rules == model.contact.engagement_rules
    assert model.segments[1].contact_overrides == ()


def test_an_engagement_override_edits_a_copy_of_the_inherited_rules():
    editor = edited(
        SEGMENTED,
        {
            "segments-0-override_contact_engagement": "on",
            "segments-0-engagement-0-points": "55",
            "segments-0-contact_engagement_cap": "90",
        },
    )

    document = editor.document()

    enterprise = document["segments"][0]["contact"]
    assert enterprise["engagement"]["cap"] == 90
    assert [(r["label"], r["points"]) for r in enterprise["engagement"]["rules"]] == [
        ("Demo", 55),
        ("Pricing", 10),
    ]
    assert enterprise["thresholds"] == {"total": 90}
    assert [r["points"] for r in document["contact"]["engagement"]["rules"]] == [40, 10]
    assert parse_document(document).segments[0].contact_overrides == (
        "engagement",
        "thresholds.total",
    )


def test_a_ticked_threshold_needs_a_value():
    data = post_data(
        RuleEditor(SEGMENTED),
        {"segments-0-override_contact_thresholds_engaged": "on", "segments-0-contact_engaged": ""},
    )
    editor = RuleEditor(SEGMENTED, data)

    assert not editor.is_valid()
    assert editor.segments.forms[0].errors == {
        "contact_engaged": ["Enter the value this segment uses."]
    }


def test_segment_errors_land_on_their_field_after_reordering():
    editor = edited(
        SEGMENTED,
        {
            "segments-0-ORDER": "2",
            "segments-1-ORDER": "1",
            "segments-1-contact_total": "0",  # not ticked: inherited, so not read
            "segments-0-contact_total": "0",
            "segments-0-when-0-attribute": "shoe_size",
            "segments-1-engagement-0-type": "Demo Request!",
        },
    )

    errors_of(editor)

    enterprise, smb = editor.segments.forms[:2]
    assert enterprise.errors == {"contact_total": ["Enter a number above 0."]}
    assert editor.formsets["segments-0-when"].forms[0].errors == {
        "attribute": [
            "“shoe_size” is not a field rules can use: pick one from the list, or custom.<key>."
        ]
    }
    assert editor.formsets["segments-1-engagement"].forms[0].errors == {
        "type": ["Use lower-case letters, digits, '_', '.' or '-' (e.g. page_view)."]
    }
    assert smb.errors == {}
    assert editor.settings.errors == {}


def test_a_segment_without_conditions_and_a_repeated_name_are_told_on_the_segment():
    editor = edited(
        SEGMENTED,
        {
            "segments-1-name": "enterprise ",
            "segments-1-when-0-DELETE": "on",
            "segments-1-when-1-DELETE": "on",
        },
    )

    errors_of(editor)

    assert editor.segments.forms[1].errors == {
        "__all__": ["Add at least one condition the account must match."],
        "name": ["Another segment has this name."],
    }


@pytest.mark.django_db
def test_the_page_tells_what_each_segment_overrides_and_inherits(admin_client):
    draft = scoring_model_import(document=SEGMENTED)

    page = admin_client.get(f"/admin/mqa/scoringmodelversion/{draft.pk}/change/").content.decode()

    assert (
        '<p class="mqa-overrides" id="segment-0-overrides">Overrides: contact thresholds.total, '
        "account thresholds.required_roles — inherits everything else.</p>"
    ) in page
    assert (
        '<p class="mqa-overrides" id="segment-1-overrides">Overrides: engagement rules, '
        "account thresholds.min_roles — inherits everything else.</p>"
    ) in page
    assert (
        '<p class="mqa-overrides" id="segment-2-overrides">'
        "Overrides nothing — inherits the whole model above.</p>"
    ) in page


@pytest.mark.django_db
def test_saving_a_segment_in_the_admin_updates_the_draft(admin_client):
    draft = scoring_model_import(document=SEGMENTED)

    response = admin_client.post(
        f"/admin/mqa/scoringmodelversion/{draft.pk}/change/",
        post_data(
            RuleEditor(draft.document),
            {
                "segments-0-override_account_thresholds_min_engaged_contacts": "on",
                "segments-0-account_min_engaged_contacts": "1",
            },
        ),
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.document["segments"][0]["account"] == {
        "thresholds": {
            "min_engaged_contacts": 1,
            "required_roles": ["decision_maker", "economic_buyer"],
        }
    }
    assert draft.document["segments"][1] == SEGMENTED["segments"][1]


@pytest.mark.django_db
def test_an_invalid_segment_edit_is_shown_on_its_field_and_nothing_is_saved(admin_client):
    draft = scoring_model_import(document=SEGMENTED)
    before = copy.deepcopy(draft.document)

    response = admin_client.post(
        f"/admin/mqa/scoringmodelversion/{draft.pk}/change/",
        post_data(
            RuleEditor(draft.document),
            {
                "segments-1-override_contact_thresholds_total": "on",
                "segments-1-contact_total": "-5",
            },
        ),
    )

    assert response.status_code == 200
    page = response.content.decode()
    field = re.search(r'<input[^>]*id="id_segments-1-contact_total"[^>]*>(.*?</ul>)', page)
    assert field is not None
    assert field.group(1) == (
        '<ul class="errorlist" id="id_segments-1-contact_total_error">'
        "<li>Enter a number above 0.</li></ul>"
    )
    assert ScoringModelVersion.objects.get(pk=draft.pk).document == before
