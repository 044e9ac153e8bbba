"""Saving a webhook subscription in the admin: a host that does not resolve, or resolves to a
private address, is refused on the URL field in words, and nothing is saved."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from mqa.admin.webhooks import WebhookSubscriptionForm
from mqa.models import WebhookSubscription
from mqa.services.webhooks import webhook_secret_new

pytestmark = pytest.mark.django_db

ADD = "/admin/mqa/webhooksubscription/add/"


def dns(monkeypatch: Any, answers: dict[str, str]) -> None:
    """Names in `answers` resolve to that address; every other name does not exist."""

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def posted(url: str) -> dict[str, Any]:
    return {
        "channel": "webhook",
        "url": url,
        "secret": webhook_secret_new(),
        "event_types": ["handoff.created"],
        "active": "on",
    }


def test_a_host_that_does_not_resolve_is_refused_on_the_url_in_words(
    admin_client, settings, monkeypatch
):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = False
    dns(monkeypatch, {})

    response = admin_client.post(ADD, posted("https://hooks.crm.example/mqa"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "url": [
            "The URL's host “hooks.crm.example” was not found in DNS: check its spelling, "
            "or save it once the name exists."
        ]
    }
    assert "Errno" not in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_a_host_resolving_to_a_private_address_is_refused_on_the_url(settings, monkeypatch):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = False
    dns(monkeypatch, {"crm.internal": "10.1.2.3"})

    form = WebhookSubscriptionForm(data=posted("https://crm.internal/hooks"))

    assert form.errors == {
        "url": [
            "The URL's host crm.internal resolves to 10.1.2.3, which is not a public address: "
            "webhooks go to public addresses unless MQA_WEBHOOKS_ALLOW_PRIVATE is set."
        ]
    }


def test_a_public_host_is_saved(admin_client, settings, monkeypatch):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = False
    dns(monkeypatch, {"hooks.crm.example": "93.184.215.14"})

    response = admin_client.post(ADD, posted("https://hooks.crm.example/mqa"))

    assert response.status_code == 302
    assert WebhookSubscription.objects.get().url == "https://hooks.crm.example/mqa"
