"""Marketing ops add a routing rule with two conditions and a queue with two members in the
admin's routing forms — in a real browser against a live server — and the routing document
stores them."""

from __future__ import annotations

import copy

import pytest
from django.contrib.auth import get_user_model

from mqa.demo import DEMO_ROUTING
from mqa.models import RoutingSettings
from mqa.routing import dump_routing, parse_routing
from mqa.services.routing import routing_document_put
from tests.browser.test_review_flow import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_rules_conditions_queues_and_members_added_with_the_buttons_are_stored(live_server, page):
    get_user_model().objects.create_superuser("marketer", "m@example.com", "secret-pass")
    routing_document_put(document=copy.deepcopy(DEMO_ROUTING))
    path = f"/admin/mqa/routingsettings/{RoutingSettings.objects.get().pk}/change/"
    log_in(page, live_server, path)

    page.get_by_role("button", name="Add rule", exact=True).click()
    page.get_by_label("Rule 3 label", exact=True).fill("Directors")
    page.get_by_label("Rule 3 queue", exact=True).select_option("inbound")
    page.get_by_label("Rule 3 condition 1 attribute", exact=True).fill("seniority")
    page.get_by_label("Rule 3 condition 1 operator", exact=True).select_option("eq")
    page.get_by_label("Rule 3 condition 1 value", exact=True).fill("director")
    page.get_by_role("button", name="Add rule 3 condition", exact=True).click()
    page.get_by_label("Rule 3 condition 2 attribute", exact=True).fill("account.employee_count")
    page.get_by_label("Rule 3 condition 2 operator", exact=True).select_option("between")
    page.get_by_label("Rule 3 condition 2 value", exact=True).fill("200, 5000")
    page.get_by_role("button", name="Add queue", exact=True).click()
    page.get_by_label("Queue 5 name", exact=True).fill("apac")
    page.get_by_label("Queue 5 member 1 assignee", exact=True).fill("gus@vendor.example")
    page.get_by_role("button", name="Add queue 5 member", exact=True).click()
    page.get_by_label("Queue 5 member 2 assignee", exact=True).fill("hal@vendor.example")
    page.get_by_label("Queue 5 member 2 active", exact=True).uncheck()
    page.get_by_label("Queue 5 member 2 capacity", exact=True).fill("3")
    page.click("#save-forms")
    page.wait_for_selector("ul.messagelist")

    expected = dump_routing(parse_routing(DEMO_ROUTING))
    expected["queues"].append(
        {
            "name": "apac",
            "members": [
                {"assignee": "gus@vendor.example", "active": True, "capacity": None},
                {"assignee": "hal@vendor.example", "active": False, "capacity": 3},
            ],
        }
    )
    expected["rules"].append(
        {
            "label": "Directors",
            "when": [
                {"attribute": "seniority", "op": "eq", "value": "director"},
                {"attribute": "account.employee_count", "op": "between", "value": [200, 5000]},
            ],
            "queue": "inbound",
        }
    )
    assert RoutingSettings.objects.get().document == expected
