"""Account endpoints of SPEC §7: bulk upserts, signals, the list, readiness and history."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account
from accounts.selectors import (
    account_history_list,
    account_list,
    account_readiness_get,
    accounts_updated_since,
    readiness_of,
)
from accounts.services import accounts_upsert, signals_ingest
from mqa.api import docs
from mqa.api.auth import scope
from mqa.api.common import (
    AUTH_RESPONSES,
    BAD_QUERY,
    BULK_RESPONSES,
    PAGE_PARAMETERS,
    UPDATED_SINCE,
    ApiView,
    CursorPage,
    NewestFirst,
    TrueOrFalseFilter,
    UtcDateTimeFilter,
    bulk_call,
    feed_response,
    page_of,
    problem,
)
from mqa.api.history import status_change_out
from mqa.http.problems import invalid_fields, not_found
from mqa.models import AccountStatus
from mqa.scoring.normalize import normalize_domain

NOT_FOUND = {404: problem("no account with this domain")}


class AccountsBulkView(ApiView):
    permission_classes = [scope("ingest")]
    rate = "ingest"

    @extend_schema(
        operation_id="accounts_bulk_upsert",
        request=docs.AccountBulk,
        responses={200: docs.UpsertResult, **BULK_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        return bulk_call(request, accounts_upsert, kind="accounts")


class SignalsBulkView(ApiView):
    permission_classes = [scope("ingest")]
    rate = "ingest"

    @extend_schema(
        operation_id="signals_bulk_ingest",
        request=docs.SignalBulk,
        responses={202: docs.IngestResult, **BULK_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        return bulk_call(request, signals_ingest, kind="signals", ok=status.HTTP_202_ACCEPTED)


class Missing(serializers.Serializer):
    criterion = serializers.CharField()
    actual = serializers.JSONField()
    required = serializers.JSONField()


class TopContact(serializers.Serializer):
    email = serializers.CharField()
    buying_role = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    engagement = serializers.FloatField()
    weight = serializers.FloatField()


class Readiness(serializers.Serializer):
    domain = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=AccountStatus.choices)
    segment = serializers.CharField(
        allow_null=True, help_text="the scoring model's segment the account is in (null: none)"
    )
    is_target = serializers.BooleanField()
    owner = serializers.CharField(allow_null=True)
    fit = serializers.IntegerField()
    engagement = serializers.FloatField()
    signal_score = serializers.FloatField()
    engaged_contacts = serializers.IntegerField()
    mql_contacts = serializers.IntegerField()
    roles_covered = serializers.ListField(child=serializers.CharField())
    missing = Missing(many=True)
    status_since = serializers.DateTimeField(allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    top_contacts = TopContact(many=True)


class AccountFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(field_name="score__status", choices=AccountStatus.choices)
    is_target = TrueOrFalseFilter()  # `maybe` is a 400 naming the field, not ignored
    owner = django_filters.CharFilter()
    segment = django_filters.CharFilter(field_name="score__segment", lookup_expr="iexact")
    updated_since = UtcDateTimeFilter(method="filter_updated_since")

    class Meta:
        model = Account
        fields = ["status", "is_target", "owner", "segment", "updated_since"]

    def filter_updated_since(self, queryset: Any, name: str, value: Any) -> Any:
        return accounts_updated_since(queryset, value)


class AccountListView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="accounts_list",
        parameters=[
            OpenApiParameter("status", str, enum=AccountStatus.values),
            OpenApiParameter("is_target", bool),
            OpenApiParameter("owner", str),
            OpenApiParameter("segment", str, description="segment name (case-insensitive)"),
            UPDATED_SINCE,
            *PAGE_PARAMETERS,
        ],
        responses={
            200: page_of(Readiness, "AccountPage"),
            **BAD_QUERY,
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request) -> Response:
        filters = AccountFilter(request.query_params, queryset=account_list())
        if not filters.is_valid():
            raise invalid_fields(filters.errors)
        if "updated_since" in request.query_params:
            return feed_response(
                request, filters.qs, position="score__feed_position", out=readiness_of
            )
        page = CursorPage()
        rows = page.paginate_queryset(filters.qs, request, view=self) or []
        return page.get_paginated_response([readiness_of(a) for a in rows])


class AccountReadinessView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="account_readiness", responses={200: Readiness, **NOT_FOUND, **AUTH_RESPONSES}
    )
    def get(self, request: Request, domain: str) -> Response:
        readiness = account_readiness_get(domain=normalize_domain(domain) or domain)
        if readiness is None:
            raise not_found("account with this domain")
        return Response(readiness)


class AccountHistoryView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="account_history",
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_of(docs.StatusChange, "AccountHistoryPage"),
            **BAD_QUERY,
            **NOT_FOUND,
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request, domain: str) -> Response:
        changes = account_history_list(domain=normalize_domain(domain) or domain)
        if changes is None:
            raise not_found("account with this domain")
        page = NewestFirst()
        rows: list[Any] = page.paginate_queryset(changes, request, view=self) or []
        return page.get_paginated_response([status_change_out(c) for c in rows])
