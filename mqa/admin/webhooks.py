"""Webhook subscriptions and the delivery outbox, with a retry action for dead deliveries."""

import base64
import binascii
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from mqa.admin.base import ReadOnlyAdmin
from mqa.models.webhooks import WebhookDelivery, WebhookSubscription
from mqa.services.webhooks import (
    WebhookAddressNotPublic,
    WebhookHostUnresolved,
    WebhookTargetRefused,
    wake_webhook_sender,
    webhook_deliveries_retry,
    webhook_secret_new,
    webhook_target_check,
)


class WebhookSubscriptionForm(forms.ModelForm):
    channel = forms.ChoiceField(
        choices=WebhookSubscription.Channel.choices,
        required=False,
        initial=WebhookSubscription.Channel.WEBHOOK,
    )
    url = forms.URLField(
        max_length=2000,
        assume_scheme="https",
        required=False,
        help_text="the endpoint (webhook) or the incoming-webhook URL (Slack)",
    )
    event_types = forms.MultipleChoiceField(
        choices=WebhookSubscription.Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ["channel", "url", "email", "secret", "event_types", "assignee", "queue", "active"]

    def clean_channel(self) -> str:
        return str(self.cleaned_data.get("channel") or WebhookSubscription.Channel.WEBHOOK)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        email_channel = cleaned.get("channel") == WebhookSubscription.Channel.EMAIL
        if email_channel and not cleaned.get("email"):
            self.add_error("email", "An email channel needs the address to send to.")
        if not email_channel and not cleaned.get("url") and "url" not in self.errors:
            self.add_error("url", "This channel needs the URL to post to.")
        return cleaned

    def clean_secret(self) -> str:
        secret: str = self.cleaned_data["secret"].strip()
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError) as error:
            raise forms.ValidationError(
                "Use whsec_ followed by base64 (the default is a fresh one)."
            ) from error
        if len(key) < 16:
            raise forms.ValidationError("The secret is too short: at least 16 bytes.")
        return secret

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if not url:
            return url
        try:
            webhook_target_check(url)
        except WebhookHostUnresolved as error:
            raise forms.ValidationError(
                f"The URL's host “{error.hostname}” was not found in DNS: check its spelling, "
                "or save it once the name exists."
            ) from error
        except WebhookAddressNotPublic as error:
            raise forms.ValidationError(
                f"The URL's host {error}: webhooks go to public addresses unless "
                "MQA_WEBHOOKS_ALLOW_PRIVATE is set."
            ) from error
        except WebhookTargetRefused as error:
            raise forms.ValidationError(f"This URL cannot be used: {error}.") from error
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = (
        "__str__",
        "channel",
        "event_types",
        "assignee",
        "queue",
        "active",
        "dead_since",
    )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, str | list[str]]:
        return {"secret": webhook_secret_new()}


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "webhook_id",
        "event_type",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "event_type")
    list_select_related = ("subscription",)
    actions = ["retry"]

    @admin.action(description="Retry the selected dead deliveries")
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = webhook_deliveries_retry(delivery_ids=queryset.values_list("pk", flat=True))
        if count:
            transaction.on_commit(wake_webhook_sender)
        self.message_user(request, f"{count} delivery(ies) will be retried", messages.SUCCESS)
