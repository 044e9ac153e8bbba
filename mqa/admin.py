"""Admin: model versions, scores and history, API keys, routing, handoffs and webhooks."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from mqa.models import (
    AccountScore,
    AccountStatusChange,
    ApiKey,
    ContactScore,
    ContactStatusChange,
    RescoreRun,
    ScoringModelVersion,
)
from mqa.models.routing import Handoff, RejectReason, RoutingSettings
from mqa.models.webhooks import WebhookDelivery, WebhookSubscription
from mqa.routing import dump_routing, parse_routing
from mqa.scoring import DocumentError
from mqa.services.api_keys import api_key_revoke
from mqa.services.handoffs import (
    HandoffConflict,
    handoff_accept,
    handoff_outcome_record,
    handoff_reject,
)
from mqa.services.webhooks import (
    WebhookTargetRefused,
    wake_webhook_sender,
    webhook_deliveries_retry,
    webhook_secret_new,
    webhook_target_check,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Computed rows: shown, never edited by hand."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ScoringModelVersion)
class ScoringModelVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "name", "state", "created_at", "published_at")
    list_filter = ("state",)
    readonly_fields = ("version", "state", "created_at", "published_at")


@admin.register(ContactScore)
class ContactScoreAdmin(ReadOnlyAdmin):
    list_display = ("contact", "status", "fit", "engagement", "total", "status_since")
    list_filter = ("status",)
    search_fields = ("contact__email",)
    list_select_related = ("contact",)


@admin.register(AccountScore)
class AccountScoreAdmin(ReadOnlyAdmin):
    list_display = ("account", "status", "fit", "engagement", "engaged_contacts", "status_since")
    list_filter = ("status", "account__is_target")
    search_fields = ("account__domain", "account__name")
    list_select_related = ("account",)


@admin.register(ContactStatusChange)
class ContactStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("contact", "from_status", "to_status", "changed_at", "cause", "model_version")
    list_filter = ("to_status", "cause")
    search_fields = ("contact__email",)
    list_select_related = ("contact", "model_version")


@admin.register(AccountStatusChange)
class AccountStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("account", "from_status", "to_status", "changed_at", "cause", "model_version")
    list_filter = ("to_status", "cause")
    search_fields = ("account__domain",)
    list_select_related = ("account", "model_version")


@admin.register(RescoreRun)
class RescoreRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "model_version", "state", "phase", "done", "total", "started_at")
    list_filter = ("state",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py create_api_key` (the secret is shown once there)."""

    list_display = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    readonly_fields = (
        "name",
        "prefix",
        "hashed_key",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = api_key_revoke(key_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"revoked {count} API key(s)", messages.SUCCESS)


class RoutingSettingsForm(forms.ModelForm):
    class Meta:
        model = RoutingSettings
        fields = ["document"]

    def clean_document(self) -> dict[str, Any]:
        try:
            return dump_routing(parse_routing(self.cleaned_data["document"]))
        except DocumentError as error:
            raise forms.ValidationError(
                [f"{path or 'document'}: {message}" for path, message in error.errors]
            ) from error


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(admin.ModelAdmin):
    """The `mqa.routing/v1` document: queues, rules, SLAs, recycle cooldown."""

    form = RoutingSettingsForm
    list_display = ("__str__", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not RoutingSettings.objects.exists()


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "contact",
        "account",
        "status",
        "outcome",
        "assignee",
        "unassigned",
        "due_at",
        "sla_breached_at",
    )
    list_filter = ("kind", "status", "outcome", "unassigned", "reason")
    search_fields = ("contact__email", "account__domain", "assignee")
    list_select_related = ("contact", "account")
    readonly_fields = [f.name for f in Handoff._meta.fields]
    actions = (
        ["accept"]
        + [f"reject_{reason}" for reason in RejectReason.values]
        + [f"outcome_{outcome}" for outcome in Handoff.Outcome.values]
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _apply(self, request: HttpRequest, queryset: QuerySet[Handoff], act: Any) -> None:
        done, refused = 0, []
        for handoff_id in queryset.values_list("pk", flat=True):
            try:
                act(handoff_id)
                done += 1
            except HandoffConflict as error:
                refused.append(str(error))
        self.message_user(request, f"updated {done} handoff(s)", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    @admin.action(description="Accept the selected handoffs")
    def accept(self, request: HttpRequest, queryset: QuerySet[Handoff]) -> None:
        self._apply(request, queryset, lambda pk: handoff_accept(handoff_id=pk))


def _reject_action(reason: str, label: str) -> Any:
    @admin.action(description=f"Reject: {label}")
    def reject(modeladmin: HandoffAdmin, request: HttpRequest, queryset: QuerySet[Handoff]) -> None:
        modeladmin._apply(
            request, queryset, lambda pk: handoff_reject(handoff_id=pk, reason=reason)
        )

    return reject


def _outcome_action(outcome: str, label: str) -> Any:
    @admin.action(description=f"Outcome: {label}")
    def record(modeladmin: HandoffAdmin, request: HttpRequest, queryset: QuerySet[Handoff]) -> None:
        modeladmin._apply(
            request, queryset, lambda pk: handoff_outcome_record(handoff_id=pk, outcome=outcome)
        )

    return record


for _reason, _label in RejectReason.choices:
    setattr(HandoffAdmin, f"reject_{_reason}", _reject_action(_reason, _label))
for _outcome, _label in Handoff.Outcome.choices:
    setattr(HandoffAdmin, f"outcome_{_outcome}", _outcome_action(_outcome, _label))


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=WebhookSubscription.Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ["url", "secret", "event_types", "active"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            webhook_target_check(url)
        except WebhookTargetRefused as error:
            raise forms.ValidationError(str(error)) from error
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("url", "event_types", "active", "created_at")

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
