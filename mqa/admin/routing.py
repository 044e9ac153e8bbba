"""Routing settings and handoffs (SPEC §6): feedback as admin actions."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from mqa.admin.routing_forms import RoutingEditor
from mqa.admin.rule_editor import CONTACT_ATTRIBUTES
from mqa.models import Cause, RescoreRun
from mqa.models.routing import Handoff, RejectReason, RoutingSettings
from mqa.routing import dump_routing, parse_routing
from mqa.scoring import DocumentError
from mqa.selectors import rescore_handoffs
from mqa.services.handoffs import (
    HandoffConflict,
    handoff_accept,
    handoff_outcome_record,
    handoff_reject,
)
from mqa.services.routing import routing_document_get, routing_document_put


class RoutingDocumentField(forms.JSONField):
    """The document as indented JSON, one key a line, to read and edit."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class RoutingSettingsForm(forms.ModelForm):
    document = RoutingDocumentField(
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100}),
        help_text="a mqa.routing/v1 document: queues with their members, rules (label, when, "
        "queue), default_queue, abm_queue, SLA hours, recycle cooldown days",
    )

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
    """The `mqa.routing/v1` document: queues, rules, SLAs, recycle cooldown.

    The add and change pages show it as forms (`routing_forms.RoutingEditor`), saved through
    the routing service; the document itself stays editable as JSON on the same page (a form
    posting `document`, handled by the ordinary admin change form)."""

    form = RoutingSettingsForm
    list_display = ("__str__", "updated_at")
    change_form_template = "admin/mqa/routingsettings/json_form.html"

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, object_id) if object_id else None
        json_editor = "document" in request.POST or request.GET.get("editor") == "json"
        if json_editor or (object_id and obj is None):  # the admin's page, or its "not found"
            return super().changeform_view(request, object_id, form_url, extra_context)
        allowed = (
            self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        editor = RoutingEditor(routing_document_get(), request.POST or None)
        if request.method == "POST" and editor.is_valid():
            try:
                routing_document_put(document=editor.document())
            except DocumentError as error:
                editor.add_errors(error.errors)
            else:
                saved = RoutingSettings.objects.get()
                if obj is None:
                    self.log_addition(request, saved, "Added with the routing forms.")
                else:
                    self.log_change(request, saved, "Changed with the routing forms.")
                self.message_user(request, "The routing settings were saved.", messages.SUCCESS)
                return redirect("admin:mqa_routingsettings_change", saved.pk)
        json_form = RoutingSettingsForm(
            instance=obj, initial=None if obj else {"document": routing_document_get()}
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Change routing settings" if obj else "Add routing settings",
            "original": obj,
            "editor": editor,
            "json_form": json_form,
            "contact_attributes": CONTACT_ATTRIBUTES,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/mqa/routingsettings/routing_forms.html", context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not RoutingSettings.objects.exists()

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"document": routing_document_get()}  # the defaults: no queues, standard SLAs


class RescoreFilter(admin.SimpleListFilter):
    """The handoffs one publish's rescore created (linked from its progress page)."""

    title = "created by the rescore of"
    parameter_name = "rescore"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        runs = RescoreRun.objects.filter(route=True, cause=Cause.PUBLISH).select_related(
            "model_version"
        )[:10]
        choices = [(str(r.pk), f"publishing v{r.model_version.version}") for r in runs]
        value = self.value()
        if value and value not in dict(choices):
            choices.append((value, f"rescore {value}"))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Handoff]) -> QuerySet[Handoff]:
        value = self.value()
        if not value:
            return queryset
        run = RescoreRun.objects.filter(pk=value).first() if value.isdigit() else None
        if run is None:
            return queryset.none()
        return queryset.filter(pk__in=rescore_handoffs(run=run).values("pk"))


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
    list_filter = ("kind", "status", "outcome", "unassigned", "reason", RescoreFilter)
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
