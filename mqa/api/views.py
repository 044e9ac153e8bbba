"""Scoring-model, pipeline and handoff endpoints of SPEC §7."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mqa.api.auth import scope
from mqa.api.common import (
    AUTH_RESPONSES,
    BAD_QUERY,
    PAGE_PARAMETERS,
    Detail,
    NewestFirst,
    QueryErrors,
    page_of,
)
from mqa.models import Handoff, ScoringModelVersion
from mqa.models.routing import RejectReason
from mqa.scoring import DocumentError
from mqa.selectors import handoff_list, pipeline_status_get
from mqa.services.handoffs import (
    HandoffConflict,
    handoff_accept,
    handoff_outcome_record,
    handoff_reject,
)
from mqa.services.model_versions import NotADraft, scoring_model_import, scoring_model_publish
from mqa.services.preview import scoring_model_preview
from mqa.services.routing import handoff_fields, routing_document_get, routing_document_put


class PathError(serializers.Serializer):
    path = serializers.CharField()
    message = serializers.CharField()


class DocumentErrors(serializers.Serializer):
    errors = PathError(many=True)


NO_VERSION = {404: OpenApiResponse(Detail, description="no such scoring model version")}


def _not_found(what: str) -> Response:
    return Response({"detail": f"no {what}"}, status=404)


class ScoringModelImportView(APIView):
    permission_classes = [scope("admin")]

    @extend_schema(
        operation_id="scoring_model_import",
        request=OpenApiTypes.OBJECT,
        description="Import a `mqa.scoring-model/v1` document as a new draft version.",
        responses={
            201: inline_serializer(
                "Imported",
                {"id": serializers.IntegerField(), "version": serializers.IntegerField()},
            ),
            400: OpenApiResponse(DocumentErrors, description="errors name the path of each value"),
            **AUTH_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        try:
            version = scoring_model_import(document=request.data)
        except ParseError as error:
            return Response({"errors": [{"path": "(document)", "message": str(error)}]}, status=400)
        except DocumentError as error:
            errors = [{"path": path or "(document)", "message": m} for path, m in error.errors]
            return Response({"errors": errors}, status=400)
        return Response({"id": version.id, "version": version.version}, status=201)


class Change(serializers.Serializer):
    to = serializers.CharField()
    count = serializers.IntegerField()
    samples = serializers.ListField(child=serializers.CharField())


Change._declared_fields["from"] = serializers.CharField()


class Impact(serializers.Serializer):
    total = serializers.IntegerField()
    changed = serializers.IntegerField()
    changes = Change(many=True)


class Preview(serializers.Serializer):
    model_version = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    contacts = Impact()
    accounts = Impact()


class ScoringModelPreviewView(APIView):
    permission_classes = [scope("admin")]

    @extend_schema(
        operation_id="scoring_model_preview",
        request=None,
        responses={200: Preview, **NO_VERSION, **AUTH_RESPONSES},
    )
    def post(self, request: Request, version_id: int) -> Response:
        try:
            return Response(scoring_model_preview(version_id=version_id))
        except ScoringModelVersion.DoesNotExist:
            return _not_found("such scoring model version")


class PublishIn(serializers.Serializer):
    route = serializers.BooleanField(help_text="hand qualifications caused by the rescore to sales")


class RescoreOut(serializers.Serializer):
    rescore_id = serializers.IntegerField()
    version = serializers.IntegerField()
    state = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class ScoringModelPublishView(APIView):
    permission_classes = [scope("admin")]

    @extend_schema(
        operation_id="scoring_model_publish",
        request=PublishIn,
        responses={
            202: RescoreOut,
            400: OpenApiResponse(
                inline_serializer("PublishErrors", {"errors": serializers.DictField()})
            ),
            409: OpenApiResponse(Detail, description="the version is not a draft"),
            **NO_VERSION,
            **AUTH_RESPONSES,
        },
    )
    def post(self, request: Request, version_id: int) -> Response:
        try:
            body = PublishIn(data=request.data)
        except ParseError as error:
            return Response({"errors": {"body": [str(error)]}}, status=400)
        if not body.is_valid():
            return Response({"errors": body.errors}, status=400)
        try:
            run = scoring_model_publish(version_id=version_id, route=body.validated_data["route"])
        except ScoringModelVersion.DoesNotExist:
            return _not_found("such scoring model version")
        except NotADraft as error:
            return Response({"detail": str(error)}, status=409)
        except DocumentError as error:
            return Response({"detail": f"the draft is no longer valid: {error}"}, status=409)
        run.refresh_from_db()
        out = {
            "rescore_id": run.id,
            "version": run.model_version.version,
            "state": run.state,
            "done": run.done,
            "total": run.total,
        }
        return Response(out, status=status.HTTP_202_ACCEPTED)


class ActiveScoringModelView(APIView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="scoring_model_active",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description="the mqa.scoring-model/v1 document"
            ),
            404: OpenApiResponse(Detail, description="no model is active yet"),
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request) -> Response:
        version = ScoringModelVersion.objects.filter(state=ScoringModelVersion.State.ACTIVE).first()
        if version is None:
            return _not_found("active scoring model")
        return Response(version.document)


class Rescore(serializers.Serializer):
    state = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class PipelineOut(serializers.Serializer):
    pending = serializers.IntegerField()
    oldest_pending_seconds = serializers.FloatField()
    active_model_version = serializers.IntegerField(allow_null=True)
    rescore = Rescore()


class PipelineView(APIView):
    permission_classes = [scope("read")]

    @extend_schema(operation_id="pipeline_status", responses={200: PipelineOut, **AUTH_RESPONSES})
    def get(self, request: Request) -> Response:
        return Response(pipeline_status_get())


class HandoffOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Handoff.Kind.choices)
    status = serializers.ChoiceField(choices=Handoff.Status.choices)
    outcome = serializers.CharField(allow_null=True)
    contact_email = serializers.CharField(allow_null=True)
    account_domain = serializers.CharField(allow_null=True)
    assignee = serializers.CharField(allow_null=True)
    queue = serializers.CharField(allow_null=True)
    unassigned = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    note = serializers.CharField()
    decision = serializers.DictField()
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    sla_breached = serializers.BooleanField()


class HandoffFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Handoff.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Handoff.Status.choices)
    assignee = django_filters.CharFilter()

    class Meta:
        model = Handoff
        fields = ["kind", "status", "assignee"]


def handoff_out(h: Handoff) -> dict[str, Any]:
    return {
        "id": h.id,
        **handoff_fields(h),
        "note": h.note,
        "created_at": h.created_at,
        "due_at": h.due_at,
        "sla_breached": h.sla_breached_at is not None,
    }


class HandoffListView(APIView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="handoffs_list",
        parameters=[
            OpenApiParameter("kind", str, enum=Handoff.Kind.values),
            OpenApiParameter("status", str, enum=Handoff.Status.values),
            OpenApiParameter("assignee", str),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: page_of(HandoffOut, "HandoffPage"),
            **BAD_QUERY,
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request) -> Response:
        filters = HandoffFilter(request.query_params, queryset=handoff_list())
        if not filters.is_valid():
            return Response({"errors": filters.errors}, status=400)
        page = NewestFirst()
        rows: list[Any] = page.paginate_queryset(filters.qs, request, view=self) or []
        return page.get_paginated_response([handoff_out(h) for h in rows])


class RoutingView(APIView):
    """GET needs `read`; PUT (replace the whole document) needs `admin`."""

    def get_permissions(self) -> list[Any]:
        return [scope("admin" if self.request.method == "PUT" else "read")()]

    @extend_schema(
        operation_id="routing_get",
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="the mqa.routing/v1 document"),
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request) -> Response:
        return Response(routing_document_get())

    @extend_schema(
        operation_id="routing_put",
        request=OpenApiTypes.OBJECT,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="the stored document"),
            400: OpenApiResponse(DocumentErrors, description="errors name the path of each value"),
            **AUTH_RESPONSES,
        },
    )
    def put(self, request: Request) -> Response:
        try:
            return Response(routing_document_put(document=request.data))
        except ParseError as error:
            return Response({"errors": [{"path": "(document)", "message": str(error)}]}, status=400)
        except DocumentError as error:
            errors = [{"path": path or "(document)", "message": m} for path, m in error.errors]
            return Response({"errors": errors}, status=400)


class RejectIn(serializers.Serializer):
    reason = serializers.ChoiceField(choices=RejectReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class OutcomeIn(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Handoff.Outcome.choices)


FEEDBACK_RESPONSES = {
    200: HandoffOut,
    400: OpenApiResponse(QueryErrors, description="a missing or unknown reason/outcome"),
    404: OpenApiResponse(Detail, description="no such handoff"),
    409: OpenApiResponse(Detail, description="not allowed from the handoff's current state"),
    **AUTH_RESPONSES,
}


def _feedback(request: Request, body: type[serializers.Serializer] | None, act: Any) -> Response:
    data: dict[str, Any] = {}
    if body is not None:
        try:
            parsed = body(data=request.data)
        except ParseError as error:
            return Response({"errors": {"body": [str(error)]}}, status=400)
        if not parsed.is_valid():
            return Response({"errors": parsed.errors}, status=400)
        data = dict(parsed.validated_data)
    try:
        handoff = act(**data)
    except Handoff.DoesNotExist:
        return _not_found("such handoff")
    except HandoffConflict as error:
        return Response({"detail": str(error)}, status=409)
    return Response(handoff_out(handoff))


class HandoffAcceptView(APIView):
    permission_classes = [scope("feedback")]

    @extend_schema(operation_id="handoff_accept", request=None, responses=FEEDBACK_RESPONSES)
    def post(self, request: Request, handoff_id: int) -> Response:
        return _feedback(request, None, lambda: handoff_accept(handoff_id=handoff_id))


class HandoffRejectView(APIView):
    permission_classes = [scope("feedback")]

    @extend_schema(operation_id="handoff_reject", request=RejectIn, responses=FEEDBACK_RESPONSES)
    def post(self, request: Request, handoff_id: int) -> Response:
        return _feedback(
            request,
            RejectIn,
            lambda reason, note: handoff_reject(handoff_id=handoff_id, reason=reason, note=note),
        )


class HandoffOutcomeView(APIView):
    permission_classes = [scope("feedback")]

    @extend_schema(operation_id="handoff_outcome", request=OutcomeIn, responses=FEEDBACK_RESPONSES)
    def post(self, request: Request, handoff_id: int) -> Response:
        return _feedback(
            request,
            OutcomeIn,
            lambda outcome: handoff_outcome_record(handoff_id=handoff_id, outcome=outcome),
        )
