"""Review pages for closing the loop: the funnel report (with CSV) and calibration backtests
(overall and, for a model with segments, one section per segment; the draft form writes each
segment's recommended thresholds at that segment's own keys)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mqa.models import ScoringModelVersion
from mqa.reports.backtest import BacktestError, calibration_backtest
from mqa.reports.funnel import csv_text, funnel_table
from mqa.reports.selectors import GROUPINGS, ReportQueryError, funnel_report_get
from mqa.scoring import DocumentError
from mqa.services.model_versions import scoring_model_draft_with_thresholds


class FunnelForm(forms.Form):
    kind = forms.ChoiceField(choices=[("lead", "Leads (MQL)"), ("account", "Accounts (MQA)")])
    group_by = forms.ChoiceField(
        choices=[(key, key.replace("_", " ")) for key in GROUPINGS["lead"]], required=False
    )
    start = forms.DateField(required=False, label="From")
    end = forms.DateField(required=False, label="To")


def _funnel(request: HttpRequest) -> tuple[FunnelForm, dict[str, Any] | None]:
    form = FunnelForm(request.GET or {"kind": "lead", "group_by": "month"})
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    try:
        report = funnel_report_get(
            kind=data["kind"],
            group_by=data["group_by"] or "none",
            start=data["start"],
            end=data["end"],
        )
    except ReportQueryError as error:
        form.add_error(None, str(error))
        return form, None
    return form, report


def _charts(report: dict[str, Any]) -> dict[str, Any]:
    stages = report["stages"]
    labels = [g["group"] or "(none)" for g in report["groups"]]
    return {
        "funnel": {"labels": stages, "data": [report["totals"]["stages"][s] for s in stages]},
        "by_group": {
            "labels": labels,
            "volume": [g["stages"][stages[0]] for g in report["groups"]],
            "rate": [g["conversion"]["overall"] for g in report["groups"]],
        },
        "reasons": report["totals"]["rejection_reasons"],
    }


@staff_member_required
def funnel(request: HttpRequest) -> HttpResponse:
    form, report = _funnel(request)
    context: dict[str, Any] = {"form": form, "report": report, "query": request.GET.urlencode()}
    if report is not None:
        context["charts"] = _charts(report)
        context["table"] = funnel_table(report)
    return render(request, "mqa/review/funnel.html", context, status=200 if report else 400)


@staff_member_required
def funnel_csv(request: HttpRequest) -> HttpResponse:
    form, report = _funnel(request)
    if report is None:
        return HttpResponse(
            csv_text([["field", "message"], *form.errors.items()]),
            content_type="text/csv",
            status=400,
        )
    response = HttpResponse(csv_text(funnel_table(report)), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="funnel.csv"'
    return response


class BacktestForm(forms.Form):
    cutoff = forms.DateTimeField(help_text="score as of this time (UTC unless an offset is given)")
    horizon_days = forms.IntegerField(min_value=1, initial=90)
    label = forms.ChoiceField(choices=[("won", "won"), ("sql", "SQL or further")])
    goal = forms.ChoiceField(choices=[("f1", "best F1"), ("rate", "target conversion rate")])
    target_rate = forms.FloatField(required=False, min_value=0.0001, max_value=1)
    version = forms.IntegerField(required=False, help_text="model version id (default: active)")


class DraftForm(forms.Form):
    version = forms.IntegerField()
    contact_total = forms.FloatField(required=False, min_value=0.01)
    account_engagement = forms.FloatField(required=False, min_value=0)


class SegmentDraftForm(forms.Form):
    """One segment's row of the draft form: blank leaves the segment's key as it is."""

    segment = forms.CharField(widget=forms.HiddenInput)
    contact_total = forms.FloatField(
        required=False, min_value=0.01, widget=forms.NumberInput(attrs={"step": "any"})
    )
    account_engagement = forms.FloatField(
        required=False, min_value=0, widget=forms.NumberInput(attrs={"step": "any"})
    )


SegmentDraftForms = forms.formset_factory(SegmentDraftForm, extra=0)
SEGMENTS = "segments"  # the formset's prefix


def _recommended(summary: dict[str, Any]) -> float | None:
    return summary["recommended"]["threshold"] if summary["recommended"] else None


def _draft_forms(result: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """What the draft form starts with: the top level's values (no segment's recommendations
    when the model has segments, else the overall ones) and one row per segment."""
    top = next((e for e in result["segments"] if e["segment"] is None), result)
    rows = SegmentDraftForms(
        prefix=SEGMENTS,
        initial=[
            {
                "segment": entry["segment"],
                "contact_total": _recommended(entry["contacts"]),
                "account_engagement": _recommended(entry["accounts"]),
            }
            for entry in result["segments"]
            if entry["segment"] is not None
        ],
    )
    return top, rows


def _calibration_charts(summary: dict[str, Any]) -> dict[str, Any]:
    curve = summary["curve"]
    return {
        "curve": {
            "labels": [p["threshold"] for p in curve],
            "volume": [p["volume"] for p in curve],
            "rate": [p["conversion_rate"] for p in curve],
            "captured": [p["captured"] for p in curve],
        },
        "deciles": {
            "labels": [d["decile"] for d in summary["deciles"]],
            "rate": [d["conversion_rate"] for d in summary["deciles"]],
        },
        "distribution": summary["distribution"],
    }


@staff_member_required
def calibration(request: HttpRequest) -> HttpResponse:
    form = BacktestForm(request.GET or None)
    result = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = calibration_backtest(
                cutoff=data["cutoff"],
                horizon_days=data["horizon_days"],
                label=data["label"],
                goal=data["goal"],
                target_rate=data["target_rate"],
                version_id=data["version"],
            )
        except BacktestError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
    context: dict[str, Any] = {"form": form, "result": result}
    if result is not None:
        context["charts"] = {
            kind: _calibration_charts(result[kind]) for kind in ("contacts", "accounts")
        } | {
            f"segment{i}-{kind}": _calibration_charts(entry[kind])
            for i, entry in enumerate(result["segments"])
            for kind in ("contacts", "accounts")
        }
        context["draft_top"], context["segment_drafts"] = _draft_forms(result)
    return render(
        request, "mqa/review/calibration.html", context, status=400 if form.errors else 200
    )


@staff_member_required
@require_POST
def calibration_draft(request: HttpRequest) -> HttpResponse:
    form = DraftForm(request.POST)
    # The segment rows come only from a page whose model has segments.
    with_segments = f"{SEGMENTS}-TOTAL_FORMS" in request.POST
    rows = SegmentDraftForms(request.POST if with_segments else None, prefix=SEGMENTS)
    if not form.is_valid() or (with_segments and not rows.is_valid()):
        errors = [form.errors.as_text()]
        if with_segments:
            errors += [rows.non_form_errors().as_text(), *(f.errors.as_text() for f in rows)]
        text = " ".join(e for e in errors if e)
        return HttpResponse(f"Cannot create the draft: {text}", status=400)
    data = form.cleaned_data
    segments = [f.cleaned_data for f in rows] if with_segments else []
    try:
        draft = scoring_model_draft_with_thresholds(
            version_id=data["version"],
            contact_total=data["contact_total"],
            account_engagement=data["account_engagement"],
            segment_contact_totals={
                r["segment"]: r["contact_total"] for r in segments if r["contact_total"] is not None
            },
            segment_account_engagements={
                r["segment"]: r["account_engagement"]
                for r in segments
                if r["account_engagement"] is not None
            },
            user=request.user,
        )
    except ScoringModelVersion.DoesNotExist:
        raise Http404("no such scoring model version") from None
    except DocumentError as error:
        return HttpResponse(f"Cannot create the draft: {error}", status=400)
    return HttpResponseRedirect(reverse("admin:mqa_scoringmodelversion_change", args=[draft.pk]))
