"""Scoring-model, pipeline and handoff endpoints of SPEC §7."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from mqa.api.auth import scope
from mqa.api.common import (
    AUTH_RESPONSES,
    BAD_QUERY,
    PAGE_PARAMETERS,
    UPDATED_SINCE,
    ApiView,
    NewestFirst,
    TrueOrFalseFilter,
    UtcDateTimeFilter,
    feed_response,
    page_of,
    problem,
)
from mqa.http.problems import conflict, invalid, invalid_fields, not_found
from mqa.models import Handoff, ScoringModelVersion
from mqa.models.routing import RejectReason
from mqa.scoring import DocumentError
from mqa.selectors import handoff_list, pipeline_status_get
from mqa.services.handoffs import (
    ASSIGNEE_MAX_LENGTH,
    HandoffConflict,
    handoff_accept,
    handoff_assign,
    handoff_outcome_record,
    handoff_reject,
)
from mqa.services.model_versions import NotADraft, scoring_model_import, scoring_model_publish
from mqa.services.preview import scoring_model_preview
from mqa.services.routing import handoff_fields, routing_document_get, routing_document_put

NO_VERSION = {404: problem("no such scoring model version")}
BAD_DOCUMENT = {400: problem("errors name the `path` of each bad value")}


def document_invalid(error: DocumentError) -> Exception:
    errors = [{"path": path or "(document)", "message": m} for path, m in error.errors]
    return invalid(errors, f"the document has {len(errors)} error(s)")


class ScoringModelImportView(ApiView):
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
            **BAD_DOCUMENT,
            **AUTH_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        try:
            version = scoring_model_import(document=request.data, api_key=request.auth)
        except DocumentError as error:
            raise document_invalid(error) from error
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


class SegmentImpact(serializers.Serializer):
    segment = serializers.CharField(
        allow_null=True, help_text="the segment the records would be in; null for none"
    )
    contacts = Impact()
    accounts = Impact()


class Preview(serializers.Serializer):
    model_version = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    contacts = Impact()
    accounts = Impact()
    segments = SegmentImpact(
        many=True,
        help_text="the same changes split by segment under the previewed model: its segments "
        "in document order, then null (records in no segment)",
    )


class ScoringModelPreviewView(ApiView):
    permission_classes = [scope("admin")]

    @extend_schema(
        operation_id="scoring_model_preview",
        request=None,
        responses={200: Preview, **NO_VERSION, **AUTH_RESPONSES},
    )
    def post(self, request: Request, version_id: int) -> Response:
        try:
            return Response(scoring_model_preview(version_id=version_id))
        except ScoringModelVersion.DoesNotExist as error:
            raise not_found("such scoring model version") from error


class PublishIn(serializers.Serializer):
    route = serializers.BooleanField(help_text="hand qualifications caused by the rescore to sales")


class RescoreOut(serializers.Serializer):
    rescore_id = serializers.IntegerField()
    version = serializers.IntegerField()
    state = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class ScoringModelPublishView(ApiView):
    permission_classes = [scope("admin")]

    @extend_schema(
        operation_id="scoring_model_publish",
        request=PublishIn,
        responses={
            202: RescoreOut,
            400: problem("a missing or invalid `route`"),
            409: problem("the version is not a draft"),
            **NO_VERSION,
            **AUTH_RESPONSES,
        },
    )
    def post(self, request: Request, version_id: int) -> Response:
        route = publish_route(request)
        try:
            run = scoring_model_publish(version_id=version_id, route=route, api_key=request.auth)
        except ScoringModelVersion.DoesNotExist as error:
            raise not_found("such scoring model version") from error
        except NotADraft as error:
            raise conflict(str(error)) from error
        except DocumentError as error:
            raise conflict(f"the draft is no longer valid: {error}") from error
        return rescore_started(run)


def publish_route(request: Request) -> bool:
    """The `route` of a publish (or rollback) body; a 400 naming it when missing or not a bool."""
    body = PublishIn(data=request.data)
    if not body.is_valid():
        raise invalid_fields(body.errors)
    return bool(body.validated_data["route"])


def rescore_started(run: Any, **extra: Any) -> Response:
    """202 with the rescore a publish started (`RescoreOut`, plus `extra`)."""
    run.refresh_from_db()
    out = {
        **extra,
        "rescore_id": run.id,
        "version": run.model_version.version,
        "state": run.state,
        "done": run.done,
        "total": run.total,
    }
    return Response(out, status=status.HTTP_202_ACCEPTED)


class ActiveScoringModelView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="scoring_model_active",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description="the mqa.scoring-model/v1 document"
            ),
            404: problem("no model is active yet"),
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request) -> Response:
        version = ScoringModelVersion.objects.filter(state=ScoringModelVersion.State.ACTIVE).first()
        if version is None:
            raise not_found("active scoring model")
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


class PipelineView(ApiView):
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
    decision = serializers.DictField(
        help_text="why it went where it went; a routing rule that chose the queue is named by "
        "its 0-based `rule` position and its `rule_label`"
    )
    context = serializers.DictField(
        help_text="why now, as of the handoff: scores and breakdown, contributing events, "
        "campaign, last activity, lead source; for accounts the committee (docs/crm.md)"
    )
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    sla_breached = serializers.BooleanField()


class HandoffFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Handoff.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Handoff.Status.choices)
    assignee = django_filters.CharFilter()
    breached = TrueOrFalseFilter(method="filter_breached")
    unassigned = TrueOrFalseFilter(method="filter_unassigned")
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Handoff
        fields = ["kind", "status", "assignee", "breached", "unassigned", "updated_since"]

    def filter_breached(self, queryset: Any, name: str, value: bool) -> Any:
        return queryset.filter(sla_breached_at__isnull=not value)

    def filter_unassigned(self, queryset: Any, name: str, value: bool) -> Any:
        nobody = Q(assignee__isnull=True) | Q(assignee="")
        return queryset.filter(nobody) if value else queryset.exclude(nobody)


def handoff_out(h: Handoff) -> dict[str, Any]:
    return {
        "id": h.id,
        **handoff_fields(h),
        "note": h.note,
        "created_at": h.created_at,
        "due_at": h.due_at,
        "sla_breached": h.sla_breached_at is not None,
    }


class HandoffListView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="handoffs_list",
        parameters=[
            OpenApiParameter("kind", str, enum=Handoff.Kind.values),
            OpenApiParameter("status", str, enum=Handoff.Status.values),
            OpenApiParameter("assignee", str),
            OpenApiParameter("breached", bool, description="past its SLA (true) or not (false)"),
            OpenApiParameter("unassigned", bool, description="without an assignee (true) or with"),
            UPDATED_SINCE,
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
            raise invalid_fields(filters.errors)
        if "updated_since" in request.query_params:
            return feed_response(request, filters.qs, position="feed_position", out=handoff_out)
        page = NewestFirst()
        rows: list[Any] = page.paginate_queryset(filters.qs, request, view=self) or []
        return page.get_paginated_response([handoff_out(h) for h in rows])


class RoutingView(ApiView):
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
            **BAD_DOCUMENT,
            **AUTH_RESPONSES,
        },
    )
    def put(self, request: Request) -> Response:
        try:
            return Response(routing_document_put(document=request.data))
        except DocumentError as error:
            raise document_invalid(error) from error


class RejectIn(serializers.Serializer):
    reason = serializers.ChoiceField(choices=RejectReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class OutcomeIn(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Handoff.Outcome.choices)


FEEDBACK_RESPONSES = {
    200: HandoffOut,
    400: problem("a missing or unknown reason/outcome"),
    404: problem("no such handoff"),
    409: problem("not allowed from the handoff's current state"),
    **AUTH_RESPONSES,
}


def _feedback(request: Request, body: type[serializers.Serializer] | None, act: Any) -> Response:
    data: dict[str, Any] = {}
    if body is not None:
        parsed = body(data=request.data)
        if not parsed.is_valid():
            raise invalid_fields(parsed.errors)
        data = dict(parsed.validated_data)
    try:
        handoff = act(**data)
    except Handoff.DoesNotExist as error:
        raise not_found("such handoff") from error
    except HandoffConflict as error:
        raise conflict(str(error)) from error
    return Response(handoff_out(handoff))


class HandoffAcceptView(ApiView):
    permission_classes = [scope("feedback")]

    @extend_schema(operation_id="handoff_accept", request=None, responses=FEEDBACK_RESPONSES)
    def post(self, request: Request, handoff_id: int) -> Response:
        return _feedback(request, None, lambda: handoff_accept(handoff_id=handoff_id))


class HandoffRejectView(ApiView):
    permission_classes = [scope("feedback")]

    @extend_schema(operation_id="handoff_reject", request=RejectIn, responses=FEEDBACK_RESPONSES)
    def post(self, request: Request, handoff_id: int) -> Response:
        return _feedback(
            request,
            RejectIn,
            lambda reason, note: handoff_reject(handoff_id=handoff_id, reason=reason, note=note),
        )


class HandoffOutcomeView(ApiView):
    permission_classes = [scope("feedback")]

    @extend_schema(operation_id="handoff_outcome", request=OutcomeIn, responses=FEEDBACK_RESPONSES)
    def post(self, request: Request, handoff_id: int) -> Response:
        return _feedback(
            request,
            OutcomeIn,
            lambda outcome: handoff_outcome_record(handoff_id=handoff_id, outcome=outcome),
        )


class AssignIn(serializers.Serializer):
    assignee = serializers.CharField(
        max_length=ASSIGNEE_MAX_LENGTH, help_text="who works it from now on (e.g. an email)"
    )


class HandoffAssignView(ApiView):
    permission_classes = [scope("feedback")]

    @extend_schema(
        operation_id="handoff_assign",
        request=AssignIn,
        description="Give an open handoff to someone (it was unassigned or someone else's); "
        "announced as `handoff.updated`.",
        responses={**FEEDBACK_RESPONSES, 400: problem("a missing or invalid `assignee`")},
    )
    def post(self, request: Request, handoff_id: int) -> Response:
        return _feedback(
            request,
            AssignIn,
            lambda assignee: handoff_assign(handoff_id=handoff_id, assignee=assignee),
        )
