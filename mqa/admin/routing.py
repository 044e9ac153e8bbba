"""Routing settings and handoffs (SPEC §6): feedback as admin actions."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from mqa.models.routing import Handoff, RejectReason, RoutingSettings
from mqa.routing import dump_routing, parse_routing
from mqa.scoring import DocumentError
from mqa.services.handoffs import (
    HandoffConflict,
    handoff_accept,
    handoff_outcome_record,
    handoff_reject,
)


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
