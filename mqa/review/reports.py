"""Review pages for closing the loop: the funnel report (with CSV) and calibration backtests
(overall and, for a model with segments, one section per segment; the draft form writes each
segment's recommended thresholds at that segment's own keys).

A threshold the backtest's guardrails refused to recommend (too few conversions, too wide an
interval) has no input in the draft form, and the form is not shown when every one is refused.
The form carries a signed note of the backtest's refusals for its version (`draft_token`): the
draft view refuses a post without it, for another version, or with a value for a refused
threshold, and creates nothing.

After a backtest the page also shows what the same outcomes teach (`mqa.review.learning`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mqa.models import ScoringModelVersion
from mqa.models.routing import RejectReason
from mqa.reports.backtest import BacktestError, calibration_backtest
from mqa.reports.calibration import MAX_INTERVAL_WIDTH
from mqa.reports.funnel import csv_text, funnel_table
from mqa.reports.selectors import GROUPINGS, ReportQueryError, funnel_report_get
from mqa.reports.suggest import DEFAULT_SEED
from mqa.review.learning import learning_context
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


STAGE_NAMES = {
    "mql": "MQL",
    "mqa": "MQA",
    "accepted": "Accepted",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
}
REASON_NAMES = dict(RejectReason.choices)


def _group_name(group: str | None) -> str:
    return "(none)" if group is None else str(group)


def _funnel_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per group then the totals, in words: each stage's count with its rate from the
    stage before, the rejections by reason (those that happened), speed to lead and SLA."""
    stages = report["stages"]
    entries = [(_group_name(g["group"]), g) for g in report["groups"]]
    entries.append(("All", report["totals"]))
    return [
        {
            "group": name,
            "total": name == "All",
            "stages": [
                {"count": entry["stages"][stage], "rate": entry["conversion"].get(stage)}
                for stage in stages
            ],
            "overall": entry["conversion"]["overall"],
            "rejected": entry["rejected"],
            "reasons": [
                (REASON_NAMES[reason], n)
                for reason, n in sorted(entry["rejection_reasons"].items(), key=lambda r: -r[1])
                if n
            ],
            "speed": entry["speed_to_lead_hours"],
            "sla": entry["sla"],
        }
        for name, entry in entries
    ]


def _charts(report: dict[str, Any]) -> dict[str, Any]:
    stages = report["stages"]
    labels = [_group_name(g["group"]) for g in report["groups"]]
    reasons = {
        REASON_NAMES[reason]: n for reason, n in report["totals"]["rejection_reasons"].items()
    }
    return {
        "funnel": {
            "labels": [STAGE_NAMES[s] for s in stages],
            "data": [report["totals"]["stages"][s] for s in stages],
        },
        "by_group": {
            "labels": labels,
            "volume": [g["stages"][stages[0]] for g in report["groups"]],
            "rate": [g["conversion"]["overall"] for g in report["groups"]],
        },
        "reasons": reasons,
    }


@staff_member_required
def funnel(request: HttpRequest) -> HttpResponse:
    form, report = _funnel(request)
    context: dict[str, Any] = {"form": form, "report": report, "query": request.GET.urlencode()}
    if report is not None:
        context["charts"] = _charts(report)
        context["stage_names"] = [STAGE_NAMES[s] for s in report["stages"]]
        context["rows"] = _funnel_rows(report)
        context["total_handoffs"] = report["totals"]["stages"][report["stages"][0]]
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
    min_conversions = forms.IntegerField(
        required=False, min_value=1, help_text="recommend nothing from fewer (default 30)"
    )
    max_interval_width = forms.FloatField(
        required=False,
        min_value=0.0001,
        max_value=1,
        help_text=f"recommend nothing when the rate's 95% interval is wider (default {MAX_INTERVAL_WIDTH})",
    )
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        help_text=f"seed of the suggestion's 70 / 30 split (default {DEFAULT_SEED})",
    )


class DraftForm(forms.Form):
    version = forms.IntegerField()
    backtest = forms.CharField(widget=forms.HiddenInput)
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


DRAFT_SALT = "mqa.review.calibration-draft"


def _recommended(summary: dict[str, Any]) -> float | None:
    return summary["recommended"]["threshold"] if summary["recommended"] else None


def _refusals(result: dict[str, Any]) -> dict[str, str]:
    """Why each draft input has no recommendation, by input (`contact_total`,
    `account_engagement`, or `<segment>/<input>` for a segment's row)."""
    top = next((e for e in result["segments"] if e["segment"] is None), result)
    entries = [(None, top)] + [(e["segment"], e) for e in result["segments"] if e["segment"]]
    refused = {}
    for name, entry in entries:
        for field, kind in (("contact_total", "contacts"), ("account_engagement", "accounts")):
            if entry[kind]["refused"]:
                key = field if name is None else f"{name}/{field}"
                refused[key] = f"{entry[kind]['threshold']}: {entry[kind]['refused']}"
    return refused


def draft_token(*, version_id: int, refused: dict[str, str]) -> str:
    """The signed note of a backtest the draft form carries."""
    return signing.dumps({"version": version_id, "refused": refused}, salt=DRAFT_SALT)


def _draft_refusal(data: dict[str, Any], segments: list[dict[str, Any]]) -> str | None:
    """Why the posted draft must not be made, or None."""
    try:
        note = signing.loads(data["backtest"], salt=DRAFT_SALT)
    except signing.BadSignature:
        return "run the backtest first: the draft form comes from its page"
    if note["version"] != data["version"]:
        return "the backtest was of another version"
    given = [k for k in ("contact_total", "account_engagement") if data[k] is not None] + [
        f"{row['segment']}/{k}"
        for row in segments
        for k in ("contact_total", "account_engagement")
        if row[k] is not None
    ]
    refused = [note["refused"][key] for key in given if key in note["refused"]]
    return "; ".join(refused) or None


def _draft_forms(result: dict[str, Any], refused: dict[str, str]) -> tuple[dict[str, Any], Any]:
    """What the draft form starts with: the top level's values (no segment's recommendations
    when the model has segments, else the overall ones) and one row per segment, without the
    inputs whose recommendation was refused."""
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
    for form in rows:
        for field in ("contact_total", "account_engagement"):
            entry = form.initial["segment"] + "/" + field
            if entry in refused:
                del form.fields[field]
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
                min_conversions=data["min_conversions"],
                max_interval_width=data["max_interval_width"] or MAX_INTERVAL_WIDTH,
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
        refused = _refusals(result)
        context["draft_top"], context["segment_drafts"] = _draft_forms(result, refused)
        context["draft_token"] = draft_token(version_id=result["version_id"], refused=refused)
        context["refused"] = refused
        # The draft form is offered when at least one input may be written.
        inputs = 2 * (1 + sum(1 for e in result["segments"] if e["segment"] is not None))
        context["can_draft"] = len(refused) < inputs
        context["learning"] = learning_context(data, result["version_id"])
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
    refusal = _draft_refusal(data, segments)
    if refusal:
        return HttpResponse(f"Cannot create the draft: {refusal}", status=400)
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
