"""Shared pieces of the REST API: bulk bodies, pagination, schema components."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from mqa.batch import BatchError, Invalid
from mqa.feed import FeedCursor, feed_page
from mqa.http.bodies import body_bytes, json_document, require_json
from mqa.http.problems import MEDIA_TYPE, invalid, invalid_field
from mqa.ingest import IngestResult
from mqa.ops.metrics import INGEST_ITEMS
from mqa.retry import race_retried

MAX_ITEMS = 1000


class ApiView(APIView):
    """The base of every API view: limits before authentication, errors always as JSON.

    A client guessing keys is counted by its address before it is told 401; an error of a
    view that can also answer CSV is still a JSON problem (SPEC §7).
    """

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(
            request
        )
        request.version, request.versioning_scheme = self.determine_version(
            request, *args, **kwargs
        )
        # The key lookup is the request's first query: a session PostgreSQL ended after the
        # request's connection check fails here, and is run again on a new connection.
        race_retried(lambda: self._admit(request))

    def _admit(self, request: Request) -> None:
        self.check_throttles(request)
        self.perform_authentication(request)
        self.check_permissions(request)

    def check_throttles(self, request: Request) -> None:
        # In order, stopping at the first limit reached: the address limit answers before the
        # key limit would authenticate (and answer 401 to a guesser).
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait())

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = (
                JSONRenderer(),
                MEDIA_TYPE,
            )
        return super().finalize_response(request, response, *args, **kwargs)


def bulk_items(request: Request) -> list[Any]:
    """The `items` of a `{"items": [...]}` body (SPEC §7), read as every JSON body is."""
    require_json(request)
    document = json_document(body_bytes(request), bulk=True)
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise invalid_field("items", 'the body must be {"items": [...]}')
    unknown = sorted(set(document) - {"items"})
    if unknown:
        raise invalid_field(unknown[0], "unknown key")
    items: list[Any] = document["items"]
    if len(items) > MAX_ITEMS:
        raise invalid_field(
            "items", f"at most {MAX_ITEMS} items per request, got {len(items)}", status=413
        )
    return items


def bulk_call(
    request: Request, service: Callable[..., Any], *, kind: str, ok: int = status.HTTP_200_OK
) -> Response:
    """Run an ingest service on a bulk body; a batch error is a 400 naming index and field."""
    items = bulk_items(request)
    result = ingest_call(lambda: service(items=items), kind=kind, count=len(items))
    return Response(result.as_dict(), status=ok)


def ingest_call(run: Callable[[], Any], *, kind: str, count: int) -> Any:
    """Run an ingest of `count` items; a batch error is a 400 naming index and field.

    Counts the items by outcome for `/metrics` (`kind`: accounts, contacts, events, signals,
    messages).
    """
    try:
        result = race_retried(run)
    except BatchError as error:
        INGEST_ITEMS.labels(kind, "rejected").inc(count)
        detail = f"{len(error.errors)} invalid item(s): nothing was stored"
        raise invalid(error.as_list(), detail) from error
    if isinstance(result, IngestResult):
        outcomes = {
            "accepted": result.accepted,
            "duplicate": result.duplicates,
            "conflict": len(result.conflicts),
            "suppressed": result.suppressed,
        }
    else:  # an upsert: every item was stored (created or updated) unless suppressed
        suppressed = getattr(result, "suppressed", 0)
        outcomes = {"accepted": count - suppressed, "suppressed": suppressed}
    for outcome, n in outcomes.items():
        INGEST_ITEMS.labels(kind, outcome).inc(n)
    return result


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
            raise invalid_field("cursor", "invalid cursor") from error

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


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, in UTC; one outside years 1–9999 there is a named 400."""

    def clean(self, value: Any) -> Any:
        instant = super().clean(value)
        if instant is None:
            return None
        try:
            return instant.astimezone(UTC)
        except OverflowError as error:
            raise forms.ValidationError(
                "is outside the years 1–9999 once its offset is applied"
            ) from error


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class TrueOrFalseField(forms.Field):
    """`true` or `false` (any case); anything else is a named 400, not a filter ignored."""

    def to_python(self, value: Any) -> bool | None:
        text = str(value).strip().lower() if value is not None else ""
        if text == "":
            return None
        if text not in ("true", "false"):
            raise forms.ValidationError("must be true or false")
        return text == "true"


class TrueOrFalseFilter(django_filters.BooleanFilter):
    field_class = TrueOrFalseField


def feed_response(
    request: Request,
    rows: QuerySet[Any],
    *,
    position: str,
    out: Callable[[Any], Any],
    key: str = "id",
) -> Response:
    """A page of a change feed (`mqa.feed`): `{"results", "next"}`, `next` always a URL —
    at the end of the feed, where to poll again."""
    try:
        after = FeedCursor.decode(request.query_params.get("cursor"))
    except Invalid as error:
        raise invalid_field("cursor", str(error)) from error
    page, last = feed_page(rows, position=position, key=key, after=after, limit=_limit(request))
    following = replace_query_param(request.build_absolute_uri(), "cursor", last.encode())
    return Response({"results": [out(row) for row in page], "next": following})


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "")
    return min(CursorPage.max_page_size, int(text)) if text.isdigit() and int(text) > 0 else 100


UPDATED_SINCE = OpenApiParameter(
    "updated_since",
    OpenApiTypes.DATETIME,
    description=(
        "a change feed: the records changed at or after this instant, in the order their "
        "changes committed, each change once; `next` is always given — follow it now for "
        "the next page and later to poll for what changed since (a reverse-ETL cursor)"
    ),
)


# Schema components (documentation of the shapes above).
class ProblemItem(serializers.Serializer):
    message = serializers.CharField()
    index = serializers.IntegerField(required=False, help_text="the item of a bulk body")
    field = serializers.CharField(required=False, help_text="a dotted field, e.g. `properties.url`")
    path = serializers.CharField(
        required=False, help_text="a document path, e.g. `contact.fit.rules[1].value`"
    )


class ProblemOut(serializers.Serializer):
    """RFC 9457 problem details (`application/problem+json`), SPEC §7 *Errors*."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = ProblemItem(many=True, required=False)


def problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemOut, description=description)


BAD_QUERY = {400: problem("a bad filter or cursor")}
AUTH_RESPONSES = {
    401: problem("no API key, or an invalid one"),
    403: problem("the key lacks the scope"),
}
BULK_RESPONSES = {
    400: problem("invalid batch: nothing was stored"),
    413: problem("more than 1000 items or 1 MB"),
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
