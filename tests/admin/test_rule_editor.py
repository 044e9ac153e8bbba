"""The admin rule editor: forms ⇄ document, errors on the right field, audit trail."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mqa.admin.rule_editor import RuleEditor, format_value, parse_value, parse_where
from mqa.models import ScoringModelAudit, ScoringModelVersion
from mqa.scoring import dump_document, parse_document
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from tests.factories import TEST_MODEL

DEFAULT = dump_document(
    parse_document(
        json.loads((Path(__file__).parents[2] / "mqa" / "default_model.json").read_text())
    )
)


def post_data(editor: RuleEditor, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a browser would send for the editor as rendered, with `changes` typed in."""
    data: dict[str, Any] = {}
    for formset in editor.formsets.values():
        management = formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(
                name, 0 if name.startswith("M") else ""
            )
        data[f"{formset.prefix}-TOTAL_FORMS"] = len(formset.forms)
        data[f"{formset.prefix}-INITIAL_FORMS"] = len(formset.initial or [])
        for form in formset.forms:  # as a browser sends them: every field, blank when empty
            for name, field in form.fields.items():
                value = form.get_initial_for_field(field, name)
                if value is False:
                    continue  # an unticked checkbox is not sent
                data[form.add_prefix(name)] = "" if value is None else value
    for name in editor.settings.fields:
        value = editor.settings.get_initial_for_field(editor.settings.fields[name], name)
        data[editor.settings.add_prefix(name)] = value
    return data | (changes or {})


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("200", "gte", 200),
        ("vp, c_level", "in", ["vp", "c_level"]),
        ("200, 5000", "between", [200, 5000]),
        ("/pricing", "contains", "/pricing"),
        ('"250"', "eq", "250"),
        ("true", "eq", True),
        ("", "is_set", None),
        ('["a, b", "c"]', "in", ["a, b", "c"]),
    ],
)
def test_values_are_typed_the_way_a_marketer_writes_them(text, op, value):
    assert parse_value(text, op) == value
    assert parse_value(format_value(value), op) == value


def test_where_conditions_are_one_per_line():
    assert parse_where("url contains /pricing\nplan in pro, team\n\nref is_set") == [
        {"property": "url", "op": "contains", "value": "/pricing"},
        {"property": "plan", "op": "in", "value": ["pro", "team"]},
        {"property": "ref", "op": "is_set"},
    ]


def test_the_editor_round_trips_the_default_model_unchanged():
    editor = RuleEditor(DEFAULT, post_data(RuleEditor(DEFAULT)))

    assert editor.is_valid(), [fs.errors for fs in editor.formsets.values()] + [
        editor.settings.errors
    ]
    assert dump_document(parse_document(editor.document())) == DEFAULT


def test_an_edited_engagement_rule_and_a_deleted_one_reach_the_document():
    editor = RuleEditor(
        DEFAULT,
        post_data(RuleEditor(DEFAULT), {"engagement-0-points": "55", "engagement-1-DELETE": "on"}),
    )

    assert editor.is_valid()
    rules = editor.document()["contact"]["engagement"]["rules"]
    assert rules[0]["points"] == 55
    assert [r["label"] for r in rules] == [
        "Demo request",
        "Product pages",
        "Content download",
        "Webinar attended",
        "Email click",
        "Unsubscribed",
    ]


def test_document_errors_land_on_the_field_in_plain_words():
    editor = RuleEditor(
        DEFAULT,
        post_data(
            RuleEditor(DEFAULT),
            {"contact_fit-3-value": "10000, 200", "contact_fit-0-attribute": "shoe_size"},
        ),
    )
    assert editor.is_valid()

    with pytest.raises(Exception) as raised:
        parse_document(editor.document())
    editor.add_errors(raised.value.errors)

    fit = editor.formsets["contact_fit"].forms
    assert fit[3].errors == {"value": ["The first number must not be larger than the second."]}
    assert fit[0].errors == {
        "attribute": [
            "“shoe_size” is not a field rules can use: pick one from the list, or custom.<key>."
        ]
    }


@pytest.mark.django_db
def test_saving_in_the_admin_updates_the_draft_and_records_who_changed_what(
    admin_client, admin_user
):
    draft = scoring_model_import(document=TEST_MODEL)
    editor = RuleEditor(draft.document)

    response = admin_client.post(
        f"/admin/mqa/scoringmodelversion/{draft.pk}/change/",
        post_data(editor, {"engagement-0-points": "80"}),
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.document["contact"]["engagement"]["rules"][0]["points"] == 80
    entry = ScoringModelAudit.objects.filter(action="edited").get()
    assert (entry.username, entry.user_id) == (admin_user.username, admin_user.pk)
    assert entry.changes == [
        {
            "path": "contact.engagement.rules[0]",
            "before": {**draft.document["contact"]["engagement"]["rules"][0], "points": 40},
            "after": draft.document["contact"]["engagement"]["rules"][0],
        }
    ]


@pytest.mark.django_db
def test_an_invalid_edit_is_shown_and_nothing_is_saved(admin_client):
    draft = scoring_model_import(document=TEST_MODEL)
    before = copy.deepcopy(draft.document)

    response = admin_client.post(
        f"/admin/mqa/scoringmodelversion/{draft.pk}/change/",
        post_data(RuleEditor(draft.document), {"engagement-1-where": "url like /pricing"}),
    )

    assert response.status_code == 200
    assert "Pick an operator from the list." in response.content.decode()
    draft.refresh_from_db()
    assert draft.document == before
    assert not ScoringModelAudit.objects.filter(action="edited").exists()


@pytest.mark.django_db
def test_admin_new_draft_preview_publish_and_export(admin_client):
    scoring_model_publish(version_id=scoring_model_import(document=TEST_MODEL).pk, route=False)

    response = admin_client.post("/admin/mqa/scoringmodelversion/new-draft/")

    draft = ScoringModelVersion.objects.get(state="draft")
    assert response["Location"] == f"/admin/mqa/scoringmodelversion/{draft.pk}/change/"
    assert draft.document == ScoringModelVersion.objects.get(state="active").document
    assert (
        "would change status"
        in admin_client.get(f"/admin/mqa/scoringmodelversion/{draft.pk}/preview/").content.decode()
    )
    exported = admin_client.get(f"/admin/mqa/scoringmodelversion/{draft.pk}/export/")
    assert json.loads(exported.content) == draft.document
    published = admin_client.post(
        f"/admin/mqa/scoringmodelversion/{draft.pk}/publish/", {"route": "false"}
    )
    assert published.status_code == 302
    draft.refresh_from_db()
    assert draft.state == "active"
    assert list(
        ScoringModelAudit.objects.filter(version=draft).values_list("action", flat=True)
    ) == ["published", "drafted_from_active"]


@pytest.mark.django_db
def test_admin_import_reports_problems_in_plain_words(admin_client):
    bad = copy.deepcopy(TEST_MODEL)
    bad["contact"]["fit"]["rules"][1]["value"] = "lots"

    response = admin_client.post(
        "/admin/mqa/scoringmodelversion/import/", {"document": json.dumps(bad)}
    )

    assert "contact.fit.rules[1].value: Enter a number." in response.content.decode()
    assert ScoringModelVersion.objects.count() == 0
    ok = admin_client.post(
        "/admin/mqa/scoringmodelversion/import/", {"document": json.dumps(TEST_MODEL)}
    )
    assert ok.status_code == 302
    assert ScoringModelAudit.objects.get().action == "imported"
