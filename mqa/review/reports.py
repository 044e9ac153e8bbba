"""Review pages for closing the loop: the funnel report (with CSV) and calibration backtests."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mqa.reports.funnel import csv_text, funnel_table
from mqa.reports.selectors import GROUPINGS, ReportQueryError, funnel_report_get


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
