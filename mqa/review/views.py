"""The ABM review pages (staff login, not the admin): accounts by readiness (sortable, with
a CSV export), one account, the inbound MQL queue, and sales' answers on a handoff — accept,
reject with a reason, assign, record an outcome (htmx partials)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import Account
from mqa.models import AccountStatus, Handoff
from mqa.models.routing import RejectReason
from mqa.reports.funnel import csv_text
from mqa.review.selectors import (
    SORTS,
    review_account_get,
    review_accounts_list,
    review_accounts_rows,
    review_filter_choices,
    review_lead_page,
    review_new_mqas_count,
)
from mqa.services.handoffs import (
    ASSIGNEE_MAX_LENGTH,
    HandoffConflict,
    handoff_accept,
    handoff_assign,
    handoff_outcome_record,
    handoff_reject,
)

PAGE_SIZE = 50
CSV_LIMIT = 100_000  # rows of one account-list export
# What a handoff's forms offer (the `_handoff.html` partial).
HANDOFF_CHOICES = {"reasons": RejectReason.choices, "outcomes": Handoff.Outcome.choices}


class AccountFilters(forms.Form):
    q = forms.CharField(required=False, label="Search")
    target = forms.ChoiceField(
        required=False, choices=[("", "All accounts"), ("yes", "Targets"), ("no", "Not targets")]
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *AccountStatus.choices])
    owner = forms.CharField(required=False)
    tier = forms.CharField(required=False)
    segment = forms.CharField(required=False)
    handoff = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any handoff"),
            ("open", "Open handoff"),
            ("unassigned", "Unassigned handoff"),
            ("breached", "SLA breached"),
            ("none", "No handoff"),
        ],
    )
    sort = forms.ChoiceField(
        required=False, choices=[(s, s) for name in SORTS for s in (name, f"-{name}")]
    )


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=RejectReason.choices)
    note = forms.CharField(required=False, max_length=5000)


def _accounts(request: HttpRequest) -> tuple[AccountFilters, QuerySet[Account], str]:
    filters = AccountFilters(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    target = {"yes": True, "no": False}.get(data.get("target") or "")
    sort = data.get("sort") or "readiness"
    queryset = review_accounts_list(
        is_target=target,
        owner=data.get("owner") or None,
        status=data.get("status") or None,
        tier=data.get("tier") or None,
        segment=data.get("segment") or None,
        search=(data.get("q") or "").strip() or None,
        handoff=data.get("handoff") or None,
        sort=sort,
    )
    return filters, queryset, sort


@staff_member_required
def accounts(request: HttpRequest) -> HttpResponse:
    filters, queryset, sort = _accounts(request)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    return render(
        request,
        "mqa/review/accounts.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "csv_query": request.GET.urlencode(),
            "sort": sort,
            "columns": _sortable(sort),
            "new_mqas": review_new_mqas_count(since=timezone.now() - timedelta(days=7)),
            **review_filter_choices(),
        },
    )


def _sortable(sort: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the `sort` its header link asks for and its `aria-sort`."""
    current, descending = sort.removeprefix("-"), sort.startswith("-")
    return {
        name: {
            "next": f"-{name}" if name == current and not descending else name,
            "aria": ("descending" if descending else "ascending") if name == current else "",
        }
        for name in SORTS
    }


@staff_member_required
def accounts_csv(request: HttpRequest) -> HttpResponse:
    _, queryset, _ = _accounts(request)
    response = HttpResponse(
        csv_text(review_accounts_rows(queryset[:CSV_LIMIT])), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="accounts.csv"'
    return response


@staff_member_required
def account(request: HttpRequest, domain: str) -> HttpResponse:
    found = review_account_get(domain=domain, now=timezone.now())
    if found is None:
        raise Http404("no account with this domain")
    trend = found["trend"]
    rows = list(
        zip(trend["labels"], trend["engagement"], trend["fit"], trend["statuses"], strict=True)
    )
    return render(
        request, "mqa/review/account.html", {**found, **HANDOFF_CHOICES, "trend_rows": rows}
    )


@staff_member_required
def leads(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    page = review_lead_page(status=status or None, number=request.GET.get("page"), size=PAGE_SIZE)
    return render(
        request,
        "mqa/review/leads.html",
        {
            "page": page,
            "status": status,
            **HANDOFF_CHOICES,
            "statuses": Handoff.Status.choices,
        },
    )


class AssignForm(forms.Form):
    assignee = forms.CharField(max_length=ASSIGNEE_MAX_LENGTH)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=Handoff.Outcome.choices)


def _answer(request: HttpRequest, handoff: Handoff, error: str | None = None) -> HttpResponse:
    if request.headers.get("HX-Request"):
        context: dict[str, Any] = {"handoff": handoff, **HANDOFF_CHOICES, "error": error}
        return render(request, "mqa/review/_handoff.html", context)
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/review/"
    return HttpResponseRedirect(target)


def _change(
    request: HttpRequest,
    handoff_id: int,
    form: forms.Form | None,
    invalid: str,
    act: Callable[[dict[str, Any]], Handoff],
) -> HttpResponse:
    """One sales answer on a handoff: validate the form (`invalid` says what to fix), call
    the service through `act`, and answer with the handoff as it now stands or the conflict."""
    current = get_object_or_404(Handoff, pk=handoff_id)
    if form is not None and not form.is_valid():
        return _answer(request, current, invalid)
    try:
        handoff = act(form.cleaned_data if form is not None else {})
    except HandoffConflict as error:
        return _answer(request, current, str(error))
    return _answer(request, handoff)


@staff_member_required
@require_POST
def handoff_accept_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    return _change(request, handoff_id, None, "", lambda _: handoff_accept(handoff_id=handoff_id))


@staff_member_required
@require_POST
def handoff_reject_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    return _change(
        request,
        handoff_id,
        RejectForm(request.POST),
        "Pick a reason.",
        lambda data: handoff_reject(
            handoff_id=handoff_id, reason=data["reason"], note=data["note"]
        ),
    )


@staff_member_required
@require_POST
def handoff_assign_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    return _change(
        request,
        handoff_id,
        AssignForm(request.POST),
        "Name whom to assign it to.",
        lambda data: handoff_assign(handoff_id=handoff_id, assignee=data["assignee"]),
    )


@staff_member_required
@require_POST
def handoff_outcome_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    return _change(
        request,
        handoff_id,
        OutcomeForm(request.POST),
        "Pick an outcome.",
        lambda data: handoff_outcome_record(handoff_id=handoff_id, outcome=data["outcome"]),
    )
