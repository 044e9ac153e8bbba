"""The rule editor's rows: every field named for assistive technology, and a blank row to
clone for each list ("Add rule")."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from mqa.services.model_versions import scoring_model_import
from tests.admin.test_segment_editor import ENTERPRISE
from tests.factories import TEST_MODEL

pytestmark = pytest.mark.django_db


class Fields(HTMLParser):
    """The editor form's fields (not hidden ones, not inside a <template>) and their names:
    an aria-label, a <label for=id>, or an enclosing <label>."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, str | None]] = []
        self.label_for: dict[str, str] = {}
        self.open_label: list[str] = []
        self.in_form = self.in_template = False
        self.label_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "rule-editor":
            self.in_form = True
        elif tag == "template":
            self.in_template = True
        elif tag == "label":
            self.open_label.append(a.get("for") or "")
            self.label_text = []
        elif (
            self.in_form
            and not self.in_template
            and tag in ("input", "select", "textarea")
            and a.get("type") not in ("hidden", "submit", "button")
        ):
            self.fields.append(
                {"name": a.get("name"), "id": a.get("id"), "aria": a.get("aria-label"),
                 "wrapped": "yes" if self.open_label else None}
            )  # fmt: skip

    def handle_data(self, data):
        if self.open_label:
            self.label_text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "template":
            self.in_template = False
        elif tag == "label" and self.open_label:
            target = self.open_label.pop()
            if target:
                self.label_for[target] = "".join(self.label_text).strip()

    def unnamed(self) -> list[str | None]:
        return [
            f["name"]
            for f in self.fields
            if not f["aria"] and not f["wrapped"] and not self.label_for.get(f["id"] or "")
        ]

    def aria(self, name: str) -> str | None:
        return next(f["aria"] for f in self.fields if f["name"] == name)


def editor_page(admin_client, document) -> str:
    draft = scoring_model_import(document=document)
    return admin_client.get(f"/admin/mqa/scoringmodelversion/{draft.pk}/change/").content.decode()


def test_every_field_of_the_editor_has_an_accessible_name(admin_client):
    fields = Fields()
    fields.feed(editor_page(admin_client, {**TEST_MODEL, "segments": [ENTERPRISE]}))

    assert len(fields.fields) > 200
    assert fields.unnamed() == []
    assert fields.aria("contact_fit-1-attribute") == "Contact fit rule 2 attribute"
    assert fields.aria("contact_fit-2-points") == "Contact fit rule 3 points"
    assert fields.aria("engagement-0-DELETE") == "Engagement rule 1 delete"
    assert fields.aria("role_weights-1-weight") == "Buying-role weight 2 weight"
    assert fields.aria("segments-0-when-0-op") == "Segment 1 condition 1 operator"
    assert fields.aria("segments-0-contact_fit-0-value") == "Segment 1 contact fit rule 1 value"


def test_each_rule_list_has_an_add_button_and_a_blank_row_to_copy(admin_client):
    page = editor_page(admin_client, TEST_MODEL)

    assert (
        '<button type="button" class="button mqa-add-row" data-prefix="contact_fit"'
        ' aria-controls="rules-contact_fit">Add contact fit rule</button>'
    ) in page
    assert '<template id="empty-contact_fit">' in page
    assert 'name="contact_fit-__prefix__-attribute"' in page
    assert 'aria-label="Contact fit rule __row__ attribute"' in page
    assert 'src="/static/mqa/admin/rule_rows.js"' in page
