"""Scoring-model versions over the API: list, read one, roll back (SPEC §7, beside the
import/preview/publish endpoints of `mqa.api.views`).

Reading needs the `read` scope; importing and rolling back need `admin`. Changes are
audited with the API key that made them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from mqa.api.auth import scope
from mqa.api.common import (
    AUTH_RESPONSES,
    BAD_QUERY,
    PAGE_PARAMETERS,
    ApiView,
    NewestFirst,
    page_of,
    problem,
)
from mqa.api.views import (
    NO_VERSION,
    PublishIn,
    ScoringModelImportView,
    publish_route,
    rescore_started,
)
from mqa.http.problems import conflict, not_found
from mqa.models import ScoringModelVersion
from mqa.scoring import DocumentError
from mqa.services.model_versions import AlreadyActive, scoring_model_rollback


class VersionOut(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=ScoringModelVersion.State.choices)
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)


class VersionDetailOut(VersionOut):
    document = serializers.DictField(help_text="the mqa.scoring-model/v1 document")


class ScoringModelsView(ScoringModelImportView):
    """GET (scope `read`) lists the versions, newest first; POST (scope `admin`) imports."""

    def get_permissions(self) -> list[Any]:
        return [scope("read" if self.request.method == "GET" else "admin")()]

    @extend_schema(
        operation_id="scoring_models_list",
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_of(VersionOut, "ScoringModelVersionPage"),
            **BAD_QUERY,
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request) -> Response:
        page = NewestFirst()
        rows: list[Any] = (
            page.paginate_queryset(ScoringModelVersion.objects.all(), request, view=self) or []
        )
        return page.get_paginated_response(VersionOut(rows, many=True).data)


class ScoringModelDetailView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="scoring_model_get",
        responses={200: VersionDetailOut, **NO_VERSION, **AUTH_RESPONSES},
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = ScoringModelVersion.objects.filter(pk=version_id).first()
        if version is None:
            raise not_found("such scoring model version")
        return Response(VersionDetailOut(version).data)


class RollbackOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="the new version: a copy of the one rolled back to")
    version = serializers.IntegerField()
    rolled_back_from = serializers.IntegerField(help_text="the version number copied")
    rescore_id = serializers.IntegerField()
    state = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class ScoringModelRollbackView(ApiView):
    permission_classes = [scope("admin")]

    @extend_schema(
        operation_id="scoring_model_rollback",
        request=PublishIn,
        description="Publish a copy of an earlier version (retired or draft) as a new version "
        "and start the rescore, as publishing does.",
        responses={
            202: RollbackOut,
            400: problem("a missing or invalid `route`"),
            409: problem("the version is the active one, or no longer valid"),
            **NO_VERSION,
            **AUTH_RESPONSES,
        },
    )
    def post(self, request: Request, version_id: int) -> Response:
        route = publish_route(request)
        try:
            run = scoring_model_rollback(version_id=version_id, route=route, api_key=request.auth)
        except ScoringModelVersion.DoesNotExist as error:
            raise not_found("such scoring model version") from error
        except AlreadyActive as error:
            raise conflict(str(error)) from error
        except DocumentError as error:
            raise conflict(f"the version is no longer valid: {error}") from error
        source = ScoringModelVersion.objects.get(pk=version_id)
        return rescore_started(run, id=run.model_version_id, rolled_back_from=source.version)
