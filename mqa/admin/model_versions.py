"""Scoring model versions in the admin: a rule editor for drafts, preview, publish, import/export,
rollback to an earlier version, and the change history (who changed which rule how).

Views only parse input, call one service, and render; the services validate, write the
audit trail and start the rescore.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse

from mqa.admin.history import audit_rows
from mqa.admin.model_view import model_parts
from mqa.admin.rule_editor import ACCOUNT_ATTRIBUTES, CONTACT_ATTRIBUTES, RuleEditor, friendly
from mqa.models import Cause, RescoreRun, ScoringModelVersion
from mqa.scoring import DocumentError
from mqa.selectors import rescore_handoffs_count
from mqa.services.model_versions import (
    AlreadyActive,
    NotADraft,
    scoring_model_draft_from_active,
    scoring_model_draft_update,
    scoring_model_import,
    scoring_model_publish,
    scoring_model_rollback,
)
from mqa.services.preview import scoring_model_preview

TEMPLATES = "admin/mqa/scoringmodelversion"


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="a mqa.scoring-model/v1 .json file")
    document = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 100}),
        help_text="…or paste the JSON here",
    )


class PublishForm(forms.Form):
    route = forms.TypedChoiceField(
        choices=[("true", "Yes — hand new MQLs/MQAs to sales"), ("false", "No — only rescore")],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
        label="Route the qualifications this causes?",
    )


@admin.register(ScoringModelVersion)
class ScoringModelVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "name", "state", "created_at", "published_at")
    list_filter = ("state",)
    change_list_template = f"{TEMPLATES}/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # drafts come from "new draft from active" or an import

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("new-draft/", view(self.new_draft_view), name="mqa_scoringmodel_new_draft"),
            path("import/", view(self.import_view), name="mqa_scoringmodel_import"),
            path("<int:pk>/export/", view(self.export_view), name="mqa_scoringmodel_export"),
            path("<int:pk>/preview/", view(self.preview_view), name="mqa_scoringmodel_preview"),
            path("<int:pk>/publish/", view(self.publish_view), name="mqa_scoringmodel_publish"),
            path("<int:pk>/rollback/", view(self.rollback_view), name="mqa_scoringmodel_rollback"),
            path("<int:pk>/progress/", view(self.progress_view), name="mqa_scoringmodel_progress"),
            *super().get_urls(),
        ]

    def _context(
        self, request: HttpRequest, version: ScoringModelVersion | None, **extra: Any
    ) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "version": version,
            "title": f"Scoring model v{version.version} — {version.name}"
            if version
            else "Scoring models",
            **extra,
        }

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        version = get_object_or_404(ScoringModelVersion, pk=object_id)
        audit = audit_rows(version_id=version.pk)
        if version.state != ScoringModelVersion.State.DRAFT:
            return self._readonly(request, version, PublishForm())
        editor = RuleEditor(version.document, request.POST if request.method == "POST" else None)
        if request.method == "POST" and editor.is_valid():
            try:
                scoring_model_draft_update(
                    version_id=version.pk, document=editor.document(), user=request.user
                )
            except DocumentError as error:
                editor.add_errors(error.errors)
            except NotADraft as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request, f"Saved draft v{version.version}. Preview it before publishing."
                )
                return HttpResponseRedirect(request.path)
        return render(
            request,
            f"{TEMPLATES}/editor.html",
            self._context(
                request,
                version,
                editor=editor,
                audit=audit,
                contact_attributes=CONTACT_ATTRIBUTES,
                account_attributes=ACCOUNT_ATTRIBUTES,
            ),
        )

    def _readonly(
        self, request: HttpRequest, version: ScoringModelVersion, rollback: PublishForm
    ) -> HttpResponse:
        return render(
            request,
            f"{TEMPLATES}/readonly.html",
            self._context(
                request,
                version,
                audit=audit_rows(version_id=version.pk),
                rollback=rollback if version.state != ScoringModelVersion.State.ACTIVE else None,
                parts=model_parts(version.document),
            ),
        )

    def rollback_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Publish a copy of this (non-active) version: one step back to its rules."""
        version = get_object_or_404(ScoringModelVersion, pk=pk)
        change = reverse("admin:mqa_scoringmodelversion_change", args=[version.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change)
        form = PublishForm(request.POST)
        if not form.is_valid():
            return self._readonly(request, version, form)
        try:
            run = scoring_model_rollback(
                version_id=version.pk, route=form.cleaned_data["route"], user=request.user
            )
        except (AlreadyActive, DocumentError) as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(change)
        messages.success(
            request,
            f"Rolled back: v{run.model_version.version} is active with the rules of "
            f"v{version.version}.",
        )
        return HttpResponseRedirect(
            reverse("admin:mqa_scoringmodel_progress", args=[run.model_version_id])
        )

    def new_draft_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:mqa_scoringmodelversion_changelist"))
        try:
            version = scoring_model_draft_from_active(user=request.user)
        except ScoringModelVersion.DoesNotExist:
            messages.error(request, "There is no active model yet: import one first.")
            return HttpResponseRedirect(reverse("admin:mqa_scoringmodelversion_changelist"))
        messages.success(request, f"Draft v{version.version} holds the active rules: edit away.")
        return HttpResponseRedirect(
            reverse("admin:mqa_scoringmodelversion_change", args=[version.pk])
        )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        form = ImportForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            text = (
                upload.read().decode("utf-8", "replace")
                if upload
                else form.cleaned_data["document"]
            )
            try:
                version = scoring_model_import(document=json.loads(text), user=request.user)
            except json.JSONDecodeError as error:
                problems = [f"This is not JSON: {error}"]
            except DocumentError as error:
                problems = [f"{p}: {friendly(m)}" for p, m in error.errors]
            else:
                messages.success(request, f"Imported as draft v{version.version}.")
                return HttpResponseRedirect(
                    reverse("admin:mqa_scoringmodelversion_change", args=[version.pk])
                )
        return render(
            request,
            f"{TEMPLATES}/import.html",
            self._context(
                request, None, form=form, problems=problems, title="Import a scoring model"
            ),
        )

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(ScoringModelVersion, pk=pk)
        response = JsonResponse(version.document, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = (
            f'attachment; filename="scoring-model-v{version.version}.json"'
        )
        return response

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(ScoringModelVersion, pk=pk)
        impact = scoring_model_preview(version_id=version.pk)
        return render(
            request, f"{TEMPLATES}/preview.html", self._context(request, version, impact=impact)
        )

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(ScoringModelVersion, pk=pk)
        form = PublishForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                scoring_model_publish(
                    version_id=version.pk, route=form.cleaned_data["route"], user=request.user
                )
            except (NotADraft, DocumentError) as error:
                messages.error(request, str(error))
            else:
                return HttpResponseRedirect(
                    reverse("admin:mqa_scoringmodel_progress", args=[version.pk])
                )
        return render(
            request, f"{TEMPLATES}/publish.html", self._context(request, version, form=form)
        )

    def progress_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(ScoringModelVersion, pk=pk)
        run = RescoreRun.objects.filter(model_version=version, cause=Cause.PUBLISH).first()
        handoffs = rescore_handoffs_count(run=run) if run and run.route else None
        template = "progress_bar.html" if request.headers.get("HX-Request") else "progress.html"
        return render(
            request,
            f"{TEMPLATES}/{template}",
            self._context(request, version, run=run, handoffs=handoffs),
        )
