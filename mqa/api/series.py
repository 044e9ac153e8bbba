"""`GET /api/v1/accounts/{domain}/series`: an account week by week under the active model,
with the status changes of its history (`mqa.reports.series`)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from mqa.api.auth import scope
from mqa.api.common import AUTH_RESPONSES, ApiView, problem
from mqa.http.problems import invalid_fields, not_found
from mqa.models import AccountStatus
from mqa.reports.series import MAX_WEEKS, account_series_get
from mqa.scoring.normalize import normalize_domain

# Plain strings in the schema: one more enum of these would make drf-spectacular's names of
# the `status` enums collide (a warning `manage.py check --deploy` fails on).
STATUSES = ", ".join(AccountStatus.values)


class SeriesIn(serializers.Serializer):
    weeks = serializers.IntegerField(min_value=1, max_value=MAX_WEEKS, default=12)


class SeriesPoint(serializers.Serializer):
    at = serializers.DateTimeField(help_text="the end of the week (the last point: now)")
    fit = serializers.IntegerField()
    engagement = serializers.FloatField()
    status = serializers.CharField(help_text="the account's status then: " + STATUSES)


SeriesChange = type(
    "SeriesChange",
    (serializers.Serializer,),
    {
        "at": serializers.DateTimeField(),
        "from": serializers.CharField(help_text=STATUSES),
        "to": serializers.CharField(help_text=STATUSES),
        "model_version": serializers.IntegerField(),
        "cause": serializers.CharField(),
    },
)


class SeriesOut(serializers.Serializer):
    domain = serializers.CharField()
    model_version = serializers.IntegerField(
        allow_null=True, help_text="the active version that scored the points (null: none)"
    )
    weeks = serializers.IntegerField()
    points = SeriesPoint(
        many=True,
        help_text="oldest first, a week apart; each scored with only what happened before it, "
        "and the records' current attributes",
    )
    changes = SeriesChange(many=True, help_text="stored status changes in the span, oldest first")


class AccountSeriesView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="account_series",
        parameters=[
            OpenApiParameter(
                "weeks", int, description=f"how many weeks, 1 to {MAX_WEEKS} (default 12)"
            )
        ],
        responses={
            200: SeriesOut,
            400: problem("`weeks` is not a whole number from 1 to 104"),
            404: problem("no account with this domain"),
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request, domain: str) -> Response:
        query = SeriesIn(data=request.query_params)
        if not query.is_valid():
            raise invalid_fields(query.errors)
        series = account_series_get(
            domain=normalize_domain(domain) or domain, weeks=query.validated_data["weeks"]
        )
        if series is None:
            raise not_found("account with this domain")
        return Response(SeriesOut(series).data)
