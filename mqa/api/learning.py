"""Learning from outcomes (issue 16): per-rule evidence, suggested weights and a fair
comparison on a held-out part, optionally stored as a new draft version."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from mqa.api.auth import scope
from mqa.api.common import AUTH_RESPONSES, ApiView, problem
from mqa.http.problems import Problem, invalid_field, invalid_fields
from mqa.reports.backtest import LABELS, BacktestError
from mqa.reports.suggest import DEFAULT_SEED, SuggestionError, calibration_suggestion
from mqa.services.model_versions import scoring_model_import


class SuggestionIn(serializers.Serializer):
    cutoff = serializers.DateTimeField()
    horizon_days = serializers.IntegerField(min_value=1, max_value=3650)
    label = serializers.ChoiceField(choices=list(LABELS), default="won")
    version = serializers.IntegerField(
        required=False, help_text="a model version id; default: active"
    )
    seed = serializers.IntegerField(required=False, default=DEFAULT_SEED, min_value=0)
    create_draft = serializers.BooleanField(
        required=False, default=False, help_text="store the suggested document as a new draft"
    )


class CalibrationSuggestionView(ApiView):
    permission_classes = [scope("admin")]

    @extend_schema(
        operation_id="reports_calibration_suggestion",
        request=SuggestionIn,
        description=(
            "Backtest the contacts as of `cutoff` (as `reports/calibration` does) and learn "
            "from their outcomes: per-rule evidence (matches, conversion rate against the "
            "rest, lift, Wilson 95% interval, share of conversions), attribute values with "
            "lift that no rule uses, suggested points from a regularised logistic regression "
            "on the model's own rules (seeded, stratified 70% of the records; weak rules keep "
            "their points) with the total that maximises F1, and the version against the "
            "suggestion on the held-out 30%. With `create_draft`, the suggested document is "
            "imported as a new draft (201, `draft`). Fewer conversions than "
            "MQA_CALIBRATION_MIN_CONVERSIONS (default 30): 422."
        ),
        responses={
            200: OpenApiTypes.OBJECT,
            201: OpenApiTypes.OBJECT,
            400: problem("a bad field"),
            422: problem("too few conversions to learn from"),
            **AUTH_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        body = SuggestionIn(data=request.data)
        if not body.is_valid():
            raise invalid_fields(body.errors)
        data = body.validated_data
        try:
            result = calibration_suggestion(
                cutoff=data["cutoff"],
                horizon_days=data["horizon_days"],
                label=data["label"],
                version_id=data.get("version"),
                seed=data["seed"],
            )
        except BacktestError as error:
            raise invalid_field(error.field, str(error)) from error
        except SuggestionError as error:
            raise Problem(422, str(error)) from error
        if not data["create_draft"]:
            return Response({**result, "draft": None})
        draft = scoring_model_import(
            document=result["suggestion"]["document"], api_key=request.auth
        )
        return Response({**result, "draft": {"id": draft.id, "version": draft.version}}, status=201)
