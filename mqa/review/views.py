"""The ABM review pages (staff login, not the admin): accounts by readiness, one account,
the inbound MQL queue, and accept / reject-with-reason on handoffs (htmx partials)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from mqa.models import AccountStatus, Handoff
from mqa.models.routing import RejectReason
from mqa.review.selectors import (
    review_account_get,
    review_accounts_list,
    review_filter_choices,
    review_lead_queue,
)
from mqa.services.handoffs import HandoffConflict, handoff_accept, handoff_reject

PAGE_SIZE = 50


class AccountFilters(forms.Form):
    q = forms.CharField(required=False, label="Search")
    target = forms.ChoiceField(
        required=False, choices=[("", "All accounts"), ("yes", "Targets"), ("no", "Not targets")]
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *AccountStatus.choices])
    owner = forms.CharField(required=False)
    tier = forms.CharField(required=False)
    segment = forms.CharField(required=False)


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=RejectReason.choices)
    note = forms.CharField(required=False, max_length=5000)


@staff_member_required
def accounts(request: HttpRequest) -> HttpResponse:
    filters = AccountFilters(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    target = {"yes": True, "no": False}.get(data.get("target") or "")
    queryset = review_accounts_list(
        is_target=target,
        owner=data.get("owner") or None,
        status=data.get("status") or None,
        tier=data.get("tier") or None,
        segment=data.get("segment") or None,
        search=(data.get("q") or "").strip() or None,
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "mqa/review/accounts.html",
        {"page": page, "filters": filters, "query": query.urlencode(), **review_filter_choices()},
    )


@staff_member_required
def account(request: HttpRequest, domain: str) -> HttpResponse:
    found = review_account_get(domain=domain, now=timezone.now())
    if found is None:
        raise Http404("no account with this domain")
    return render(request, "mqa/review/account.html", {**found, "reasons": RejectReason.choices})


@staff_member_required
def leads(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    page = Paginator(review_lead_queue(status=status or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "mqa/review/leads.html",
        {
            "page": page,
            "status": status,
            "reject_form": RejectForm(),
            "statuses": Handoff.Status.choices,
        },
    )


def _answer(request: HttpRequest, handoff: Handoff, error: str | None = None) -> HttpResponse:
    if request.headers.get("HX-Request"):
        context: dict[str, Any] = {
            "handoff": handoff,
            "reasons": RejectReason.choices,
            "error": error,
        }
        return render(request, "mqa/review/_handoff.html", context)
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/review/"
    return HttpResponseRedirect(target)


@staff_member_required
@require_POST
def handoff_accept_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    get_object_or_404(Handoff, pk=handoff_id)
    try:
        handoff = handoff_accept(handoff_id=handoff_id)
    except HandoffConflict as error:
        return _answer(request, Handoff.objects.get(pk=handoff_id), str(error))
    return _answer(request, handoff)


@staff_member_required
@require_POST
def handoff_reject_view(request: HttpRequest, handoff_id: int) -> HttpResponse:
    current = get_object_or_404(Handoff, pk=handoff_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _answer(request, current, "Pick a reason.")
    try:
        handoff = handoff_reject(
            handoff_id=handoff_id,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
    except HandoffConflict as error:
        return _answer(request, current, str(error))
    return _answer(request, handoff)
