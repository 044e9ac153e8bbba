"""Shared pieces of the REST API: bulk bodies, error shapes, pagination, schema components."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from mqa.batch import BatchError
from mqa.ingest import IngestResult
from mqa.ops.metrics import INGEST_ITEMS
from mqa.retry import race_retried

MAX_ITEMS = 1000
MAX_BODY_BYTES = 1024 * 1024


class BodyProblem(Exception):
    def __init__(self, status_code: int, field: str, message: str) -> None:
        self.status_code, self.field = status_code, field
        super().__init__(message)

    def response(self) -> Response:
        return errors_response(
            self.status_code, [{"index": None, "field": self.field, "message": str(self)}]
        )


def errors_response(code: int, errors: list[dict[str, Any]]) -> Response:
    return Response({"errors": errors}, status=code)


def bulk_items(request: Request) -> list[Any]:
    """The `items` of a `{"items": [...]}` body, read with msgspec (the hot ingest path)."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyProblem(413, "body", f"the body is larger than {MAX_BODY_BYTES} bytes")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        raise BodyProblem(413, "body", f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise BodyProblem(400, "body", f"not valid JSON: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise BodyProblem(400, "items", 'the body must be {"items": [...]}')
    unknown = sorted(set(document) - {"items"})
    if unknown:
        raise BodyProblem(400, unknown[0], "unknown key")
    items: list[Any] = document["items"]
    if len(items) > MAX_ITEMS:
        raise BodyProblem(413, "items", f"at most {MAX_ITEMS} items per request, got {len(items)}")
    return items


def bulk_call(
    request: Request, service: Callable[..., Any], *, kind: str, ok: int = status.HTTP_200_OK
) -> Response:
    """Run an ingest service on a bulk body; map batch errors to 400 with index/field/message.

    Counts the items by outcome for `/metrics` (`kind`: accounts, contacts, events, signals).
    """
    try:
        items = bulk_items(request)
        result = race_retried(lambda: service(items=items))
    except BodyProblem as problem:
        return problem.response()
    except BatchError as error:
        INGEST_ITEMS.labels(kind, "rejected").inc(len(items))
        return errors_response(400, error.as_list())
    if isinstance(result, IngestResult):
        outcomes = {
            "accepted": result.accepted,
            "duplicate": result.duplicates,
            "conflict": len(result.conflicts),
        }
    else:  # an upsert: every item was stored (created or updated)
        outcomes = {"accepted": len(items)}
    for outcome, count in outcomes.items():
        INGEST_ITEMS.labels(kind, outcome).inc(count)
    return Response(result.as_dict(), status=ok)


class CursorPage(CursorPagination):
    """Cursor pagination answering `{"results": [...], "next": url | null}`."""

    page_size = 100
    max_page_size = 1000
    page_size_query_param = "limit"
    ordering = "id"

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound as error:  # a mangled cursor is the client's mistake, not a missing page
            raise ValidationError({"errors": {"cursor": ["invalid cursor"]}}) from error

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "format": "uri", "nullable": True},
            },
        }


class NewestFirst(CursorPage):
    ordering = "-id"


# Schema components (documentation of the shapes above).
class ItemError(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True)
    field = serializers.CharField()
    message = serializers.CharField()


class Errors(serializers.Serializer):
    errors = ItemError(many=True)


class Detail(serializers.Serializer):
    detail = serializers.CharField()


class QueryErrors(serializers.Serializer):
    errors = serializers.DictField(help_text="query parameter → its problems")


BAD_QUERY = {400: OpenApiResponse(QueryErrors, description="a bad filter or cursor")}


AUTH_RESPONSES = {
    401: OpenApiResponse(Detail, description="no API key, or an invalid one"),
    403: OpenApiResponse(Detail, description="the key lacks the scope"),
}
BULK_RESPONSES = {
    400: OpenApiResponse(Errors, description="invalid batch: nothing was stored"),
    413: OpenApiResponse(Errors, description="more than 1000 items or 1 MB"),
    **AUTH_RESPONSES,
}
PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="from the previous page's `next`"),
    OpenApiParameter("limit", int, description="page size, at most 1000"),
]


def page_of(item: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """Schema of a cursor page of `item`s."""
    return inline_serializer(
        name, {"results": item(many=True), "next": serializers.URLField(allow_null=True)}
    )
