"""The routing settings as forms in the admin: queues with their members, rules with their
conditions, the settings; saved through the routing service, its errors on their row."""

from __future__ import annotations

import copy
import html
from html.parser import HTMLParser
from typing import Any

import pytest

from mqa.demo import DEMO_ROUTING
from mqa.models import RoutingSettings
from mqa.routing import dump_routing, parse_routing
from mqa.services.routing import routing_document_put

pytestmark = pytest.mark.django_db

ADD = "/admin/mqa/routingsettings/add/"
DEMO = dump_routing(parse_routing(DEMO_ROUTING))  # as stored: every key given


class FormFields(HTMLParser):
    """What a browser sends for the form `#routing-forms` as rendered (blank rows included,
    the rows' <template>s left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, Any] = {}
        self.labels: set[str] = set()
        self._in_form = self._template = 0
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "routing-forms":
            self._in_form = 1
        if not self._in_form:
            return
        if tag == "template":
            self._template += 1
        if self._template:
            return
        if "aria-label" in a:
            self.labels.add(a["aria-label"])
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.data[name] = "on"
            else:
                self.data[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._first_option, self._selected = name, None, False
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.data[self._select] = a.get("value", "")
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if not self._in_form:
            return
        if tag == "template":
            self._template -= 1
        elif tag == "select" and self._select:
            if not self._selected:
                self.data[self._select] = self._first_option or ""
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = 0


def fields(response) -> FormFields:
    assert response.status_code == 200
    parser = FormFields()
    parser.feed(response.content.decode())
    assert parser.data, "no #routing-forms form"
    return parser


def page_text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def demo_row() -> RoutingSettings:
    routing_document_put(document=copy.deepcopy(DEMO_ROUTING))
    return RoutingSettings.objects.get()


def change_url(row: RoutingSettings) -> str:
    return f"/admin/mqa/routingsettings/{row.pk}/change/"


def post_edited(client, url: str, changes: dict[str, str], untick: tuple[str, ...] = ()):
    """Post the forms as the page shows them, with `changes` typed in and `untick` cleared."""
    data = fields(client.get(url)).data | changes
    for name in untick:
        data.pop(name)
    return client.post(url, data)


def test_the_change_page_shows_the_document_as_forms_with_named_fields(admin_client, demo_row):
    form = fields(admin_client.get(change_url(demo_row)))

    assert form.data["settings-default_queue"] == "inbound"
    assert form.data["settings-abm_queue"] == "abm"
    assert form.data["settings-lead_sla_hours"] == "24"
    assert [form.data[f"queues-{i}-name"] for i in range(4)] == ["inbound", "emea", "abm", ""]
    assert form.data["queues-0-members-0-assignee"] == "ana@vendor.example"
    assert form.data["queues-0-members-0-capacity"] == "25"
    assert form.data["queues-0-members-1-capacity"] == ""
    assert "queues-0-members-2-active" not in form.data  # cy is inactive: unticked
    assert form.data["queues-0-members-0-active"] == "on"
    assert form.data["rules-0-label"] == "EMEA"
    assert form.data["rules-0-queue"] == "emea"
    assert form.data["rules-0-when-0-attribute"] == "account.country"
    assert form.data["rules-0-when-0-op"] == "in"
    assert form.data["rules-0-when-0-value"] == "DE, FR, GB"
    assert {
        "Queue 1 name",
        "Queue 1 member 2 capacity",
        "Queue 1 member 3 active",
        "Rule 1 queue",
        "Rule 1 condition 1 attribute",
        "Rule 1 condition 1 operator",
        "Rule 1 condition 1 value",
    } <= form.labels


def test_the_demo_document_saved_through_the_forms_is_unchanged(admin_client, demo_row):
    form = fields(admin_client.get(change_url(demo_row)))

    response = admin_client.post(change_url(demo_row), form.data)

    assert response.status_code == 302, page_text(response)
    assert RoutingSettings.objects.get().document == DEMO


def test_a_queue_with_a_member_and_a_rule_added_are_stored_as_typed(admin_client, demo_row):
    response = post_edited(
        admin_client,
        change_url(demo_row),
        {
            "queues-3-name": "apac",
            "queues-3-members-0-assignee": "gus@vendor.example",
            "queues-3-members-0-capacity": "5",
            "rules-1-label": "APAC",
            "rules-1-queue": "apac",
            "rules-1-when-0-attribute": "account.country",
            "rules-1-when-0-op": "in",
            "rules-1-when-0-value": "JP, SG",
        },
    )

    assert response.status_code == 302, page_text(response)
    expected = copy.deepcopy(DEMO)
    expected["queues"].append(
        {
            "name": "apac",
            "members": [{"assignee": "gus@vendor.example", "active": True, "capacity": 5}],
        }
    )
    expected["rules"].append(
        {
            "label": "APAC",
            "when": [{"attribute": "account.country", "op": "in", "value": ["JP", "SG"]}],
            "queue": "apac",
        }
    )
    assert RoutingSettings.objects.get().document == expected


def test_settings_and_removals_are_stored(admin_client, demo_row):
    response = post_edited(
        admin_client,
        change_url(demo_row),
        {
            "settings-abm_queue": "",
            "settings-lead_sla_hours": "12.5",
            "queues-0-members-1-DELETE": "on",
            "rules-0-DELETE": "on",
        },
        untick=("queues-0-members-0-active",),  # ana
    )

    assert response.status_code == 302, page_text(response)
    expected = copy.deepcopy(DEMO)
    expected["abm_queue"] = None
    expected["lead_sla_hours"] = 12.5
    expected["rules"] = []
    inbound = expected["queues"][0]["members"]
    expected["queues"][0]["members"] = [{**inbound[0], "active": False}, inbound[2]]
    assert RoutingSettings.objects.get().document == expected


def test_an_unknown_rule_queue_is_told_on_its_row_and_nothing_is_stored(admin_client):
    response = post_edited(
        admin_client,
        ADD,
        {
            "queues-0-name": "inbound",
            "queues-0-members-0-assignee": "ana@vendor.example",
            "rules-0-label": "EMEA",
            "rules-0-queue": "nowhere",
            "rules-0-when-0-attribute": "country",
            "rules-0-when-0-op": "eq",
            "rules-0-when-0-value": "DE",
        },
    )

    assert response.status_code == 200
    text = page_text(response)
    assert "Rule 1 queue: No queue named 'nowhere'." in text  # the summary names the row
    row = text.split('id="rules-0"', 1)[1].split("</tr>", 1)[0]
    assert "No queue named 'nowhere'." in row  # and the error sits in that row
    assert not RoutingSettings.objects.exists()


def test_a_bad_condition_and_capacity_are_told_on_their_rows_and_nothing_is_stored(
    admin_client, demo_row
):
    response = post_edited(
        admin_client,
        change_url(demo_row),
        {"rules-0-when-0-attribute": "shoe_size", "queues-0-members-0-capacity": "0"},
    )

    assert response.status_code == 200
    text = page_text(response)
    assert "Rule 1 condition 1 attribute: “shoe_size” is not a field rules can use" in text
    assert "Queue 1 member 1 capacity: " in text
    assert RoutingSettings.objects.get().document == DEMO


def test_the_json_editor_stays_on_the_page(admin_client, demo_row):
    response = admin_client.get(change_url(demo_row))

    text = page_text(response)
    assert '<textarea name="document"' in text
    assert "Edit as JSON" in text


def test_a_document_the_forms_cannot_show_exactly_sends_the_user_to_json(admin_client):
    document = copy.deepcopy(DEMO)
    document["rules"][0]["when"][0]["value"] = ["Trinidad and Tobago"]  # "and" splits a list
    routing_document_put(document=document)
    row = RoutingSettings.objects.get()

    response = admin_client.get(change_url(row))
    text = page_text(response)
    assert "Rule 1 condition 1" in text.split('id="forms-cannot-show"', 1)[1].split("</", 1)[0]
    assert 'id="save-forms"' not in text

    response = admin_client.post(change_url(row), fields(response).data)

    assert response.status_code == 200
    assert RoutingSettings.objects.get().document == document
