"""The routing settings page of the admin: starts from a valid document, saves it, refuses a
bad one naming its path."""

from __future__ import annotations

import html
import json
import re

import pytest

from mqa.models import RoutingSettings

pytestmark = pytest.mark.django_db

ADD = "/admin/mqa/routingsettings/add/"
DEFAULT = {
    "format": "mqa.routing/v1",
    "queues": [],
    "rules": [],
    "default_queue": None,
    "abm_queue": None,
    "lead_sla_hours": 24,
    "account_sla_hours": 48,
    "recycle_cooldown_days": 30,
}


def textarea(response) -> str:
    found = re.search(
        r'<textarea name="document"[^>]*>(.*?)</textarea>', response.content.decode(), re.S
    )
    assert found, "no document textarea"
    return html.unescape(found.group(1)).strip()


def test_the_add_page_starts_from_the_default_routing_document(admin_client):
    response = admin_client.get(ADD)

    assert json.loads(textarea(response)) == DEFAULT


def test_the_default_document_saves_as_it_is_shown(admin_client):
    shown = textarea(admin_client.get(ADD))

    response = admin_client.post(ADD, {"document": shown})

    assert response.status_code == 302
    assert RoutingSettings.objects.get().document == DEFAULT


def test_an_invalid_document_names_its_path_and_nothing_is_saved(admin_client):
    document = {**DEFAULT, "queues": [{"name": "inbound", "members": [{"active": True}]}]}

    response = admin_client.post(ADD, {"document": json.dumps(document)})

    assert response.status_code == 200
    assert "queues[0].members[0].assignee: is required" in html.unescape(response.content.decode())
    assert not RoutingSettings.objects.exists()
