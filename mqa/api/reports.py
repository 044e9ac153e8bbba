"""Report endpoints: the MQL/MQA funnel as JSON or CSV (`?format=csv` or `Accept: text/csv`),
and the calibration backtest."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from mqa.api.auth import scope
from mqa.api.common import AUTH_RESPONSES, ApiView, problem
from mqa.http.problems import invalid_field, invalid_fields
from mqa.reports.backtest import GOALS, LABELS, BacktestError, calibration_backtest
from mqa.reports.calibration import MAX_INTERVAL_WIDTH
from mqa.reports.funnel import csv_text, funnel_table
from mqa.reports.selectors import GROUPINGS, ReportQueryError, funnel_report_get


class FunnelCsvRenderer(BaseRenderer):
    """The funnel as a table, one row per group then the totals (errors are JSON problems)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        return csv_text(funnel_table(data))


FunnelQuery = type(
    "FunnelQuery",
    (serializers.Serializer,),
    {
        "kind": serializers.ChoiceField(choices=list(GROUPINGS), default="lead"),
        "group_by": serializers.ChoiceField(choices=list(GROUPINGS["lead"]), default="none"),
        "from": serializers.DateField(required=False),
        "to": serializers.DateField(required=False),
    },
)


class SpeedToLead(serializers.Serializer):
    count = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)


class Sla(serializers.Serializer):
    due = serializers.IntegerField()
    breached = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class FunnelFigures(serializers.Serializer):
    stages = serializers.DictField(child=serializers.IntegerField())
    conversion = serializers.DictField(child=serializers.FloatField(allow_null=True))
    rejected = serializers.IntegerField()
    rejection_reasons = serializers.DictField(child=serializers.IntegerField())
    speed_to_lead_hours = SpeedToLead()
    sla = Sla()


class FunnelGroup(FunnelFigures):
    group = serializers.CharField(allow_null=True)


FunnelOut = type(
    "FunnelOut",
    (serializers.Serializer,),
    {
        "kind": serializers.CharField(),
        "group_by": serializers.CharField(),
        "from": serializers.DateField(allow_null=True),
        "to": serializers.DateField(allow_null=True),
        "stages": serializers.ListField(child=serializers.CharField()),
        "totals": FunnelFigures(),
        "groups": FunnelGroup(many=True),
    },
)


class FunnelReportView(ApiView):
    permission_classes = [scope("read")]
    renderer_classes = [JSONRenderer, FunnelCsvRenderer]
    metadata_class = None  # OPTIONS is not offered (its description has no CSV form)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # DRF answers an unknown `?format=` with 404; it is a bad parameter, like the others.
        try:
            return super().perform_content_negotiation(request, force)
        except Http404 as error:
            raise invalid_field("format", "format must be json or csv") from error

    @extend_schema(
        operation_id="reports_funnel",
        description=(
            "Handoffs created in the date range (UTC days, both included) as a funnel: "
            "MQL → accepted → SQL → opportunity → won for leads, MQA → accepted → won for "
            "accounts; conversions (null when the previous stage is 0), speed to lead, SLA "
            "breach rate and rejection reasons, per group (`segment`: the record's segment "
            "when the handoff was created, null for none). `?format=csv` for a CSV download."
        ),
        parameters=[
            OpenApiParameter("kind", str, enum=list(GROUPINGS)),
            OpenApiParameter("group_by", str, enum=list(GROUPINGS["lead"])),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
        ],
        responses={
            200: FunnelOut,
            400: problem("a bad parameter"),
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request) -> Response:
        query = FunnelQuery(data=request.query_params)
        if not query.is_valid():
            raise invalid_fields(query.errors)
        params = query.validated_data
        try:
            report = funnel_report_get(
                kind=params["kind"],
                group_by=params["group_by"],
                start=params.get("from"),
                end=params.get("to"),
            )
        except ReportQueryError as error:
            raise invalid_field(error.field, str(error)) from error
        response = Response(report)
        if (
            getattr(request, "accepted_renderer", None)
            and request.accepted_renderer.format == "csv"
        ):
            response["Content-Disposition"] = 'attachment; filename="funnel.csv"'
        return response


class BacktestIn(serializers.Serializer):
    cutoff = serializers.DateTimeField()
    horizon_days = serializers.IntegerField(min_value=1, max_value=3650)
    label = serializers.ChoiceField(choices=list(LABELS), default="won")
    goal = serializers.ChoiceField(choices=list(GOALS), default="f1")
    target_rate = serializers.FloatField(required=False, min_value=0.0001, max_value=1)
    version = serializers.IntegerField(
        required=False, help_text="a model version id; default: active"
    )
    min_conversions = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="recommend nothing from fewer conversions; default: the server's setting (30)",
    )
    max_interval_width = serializers.FloatField(
        required=False,
        min_value=0.0001,
        max_value=1,
        help_text=(
            "recommend nothing when the 95% Wilson interval of the conversion rate at the "
            f"recommended point is wider; default {MAX_INTERVAL_WIDTH}"
        ),
    )


class CalibrationBacktestView(ApiView):
    permission_classes = [scope("admin")]

    @extend_schema(
        operation_id="reports_calibration_backtest",
        request=BacktestIn,
        description=(
            "Score every contact and account as of `cutoff` with only earlier events and "
            "signals, label conversions (`won`, or `sql` and further) within `horizon_days` "
            "after it, and return, for every candidate threshold (contact total, its fit and "
            "engagement floors, account engagement): volume, conversion rate, share of "
            "conversions captured, lift and F1; deciles, score distribution by outcome and a "
            "recommended threshold for the goal (`f1`, or `rate` with `target_rate`). For a "
            "model with segments, `segments` holds the same per segment (then no segment), "
            "each judged by its own thresholds, with the path its threshold is written to "
            "(`segments[i].contact.thresholds.total`, `contact.thresholds.total` for none). "
            "Each floor (`floors.fit_floor`, `floors.engagement_floor`) has its own "
            "recommendation. Guardrails: no recommendation (`recommended` null, `refused` the "
            "reason) from fewer than `min_conversions` conversions or when the 95% Wilson "
            "interval of the conversion rate at the recommended point is wider than "
            "`max_interval_width`. `left_out` counts the records outside the population and "
            "why (created after the cut-off, converted before it)."
        ),
        responses={
            200: OpenApiTypes.OBJECT,
            400: problem("a bad field"),
            **AUTH_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        body = BacktestIn(data=request.data)
        if not body.is_valid():
            raise invalid_fields(body.errors)
        data = body.validated_data
        try:
            result = calibration_backtest(
                cutoff=data["cutoff"],
                horizon_days=data["horizon_days"],
                label=data["label"],
                goal=data["goal"],
                target_rate=data.get("target_rate"),
                version_id=data.get("version"),
                min_conversions=data.get("min_conversions"),
                max_interval_width=data.get("max_interval_width", MAX_INTERVAL_WIDTH),
            )
        except BacktestError as error:
            raise invalid_field(error.field, str(error)) from error
        return Response(result)
