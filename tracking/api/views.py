"""The Segment HTTP Tracking API, as Segment's and RudderStack's SDKs and webhook destinations
send it (SPEC §9): `POST /v1/{identify,track,page,screen,group,alias}` with one message and
`POST /v1/batch` with `{"batch": [...]}`.

Authenticated by the write key (HTTP Basic, the key as user name) or `Api-Key`; the body may be
gzip-encoded (RudderStack's SDK compresses by default). 200 once stored; the SDKs retry 429 and
5xx answers, and a 400 (any invalid message: nothing stored) not at all.
"""

from __future__ import annotations

import zlib
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from mqa.api.auth import ApiKeyAuthentication, WriteKeyAuthentication, scope
from mqa.api.common import AUTH_RESPONSES, ApiView, ingest_call, problem
from mqa.api.docs import IngestResult
from mqa.http.bodies import json_document, require_json
from mqa.http.problems import Problem, invalid_field
from tracking.messages import MAX_MESSAGE_BYTES
from tracking.services import tracking_ingest

MAX_REQUEST_BYTES = 500 * 1024


def tracking_body(request: Request, *, batch: bool) -> Any:
    """The JSON body, gunzipped if it says so; at most 500 KB once decoded (else 413)."""
    require_json(request)
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise too_large()
    body = request.body
    if request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower() == "gzip":
        inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            body = inflate.decompress(body, MAX_REQUEST_BYTES + 1)
        except zlib.error as error:
            raise invalid_field("body", f"not valid gzip: {error}") from error
    if len(body) > MAX_REQUEST_BYTES:
        raise too_large()
    return json_document(body, bulk=batch, list_key="batch")


def too_large() -> Problem:
    message = f"the body is larger than {MAX_REQUEST_BYTES} bytes"
    return Problem(413, message, [{"field": "body", "message": message}])


class TrackingResult(IngestResult):
    success = serializers.BooleanField(help_text="always true: every message was handled")


TRACKING_RESPONSES = {
    200: TrackingResult,
    400: problem("an invalid message (`index`, `field`): nothing of the request was stored"),
    413: problem(f"a body over {MAX_REQUEST_BYTES} bytes"),
    **AUTH_RESPONSES,
}
MESSAGE_DOC = (
    f"One message (at most {MAX_MESSAGE_BYTES} bytes) of the Segment Tracking API. Its "
    "`messageId` is required; re-sent with the same payload it is a duplicate, with another a "
    "conflict. Its time is `timestamp`, else `originalTimestamp`, else `sentAt`, else the time "
    "of receipt, with a timezone."
)


class Message(serializers.Serializer):
    """Documentation only: messages are read by `tracking.messages`, not by this."""

    type = serializers.ChoiceField(
        choices=["identify", "track", "page", "screen", "group", "alias"],
        help_text="in a batch; the path says it otherwise",
        required=False,
    )
    messageId = serializers.CharField(max_length=255)
    userId = serializers.CharField(required=False, max_length=255)
    anonymousId = serializers.CharField(required=False, max_length=255)
    previousId = serializers.CharField(required=False, help_text="alias: the id tied to userId")
    timestamp = serializers.DateTimeField(required=False)
    event = serializers.CharField(required=False, help_text="track: `Demo Requested`")
    properties = serializers.DictField(required=False)
    traits = serializers.DictField(required=False)
    context = serializers.DictField(required=False, help_text="`traits.email`, `page.url`…")


class Batch(serializers.Serializer):
    batch = Message(many=True)
    sentAt = serializers.DateTimeField(required=False)
    context = serializers.DictField(required=False)


ANSWER = OpenApiExample(
    "stored",
    value={"success": True, "accepted": 2, "duplicates": 1, "conflicts": [], "suppressed": 0},
    response_only=True,
)


class _TrackingView(ApiView):
    authentication_classes = [WriteKeyAuthentication, ApiKeyAuthentication]
    permission_classes = [scope("ingest")]
    rate = "ingest"
    message_type = ""

    def post(self, request: Request) -> Response:
        document = tracking_body(request, batch=not self.message_type)
        if not isinstance(document, dict):
            raise invalid_field("body", "must be a JSON object")
        sent_at = context = None
        if self.message_type:
            messages: list[Any] = [{**document, "type": self.message_type}]
        elif isinstance(batch := document.get("batch"), list):
            messages, sent_at, context = batch, document.get("sentAt"), document.get("context")
        else:
            raise invalid_field("batch", 'the body must be {"batch": [...]}')
        result = ingest_call(
            lambda: tracking_ingest(messages=messages, sent_at=sent_at, context=context),
            kind="messages",
            count=len(messages),
        )
        return Response({"success": True, **result.as_dict()})


def documented(kind: str, example: dict[str, Any]) -> Any:
    return extend_schema(
        operation_id=f"tracking_{kind}",
        tags=["tracking"],
        summary=f"Segment `{kind}`",
        description=MESSAGE_DOC,
        request=Message,
        responses=TRACKING_RESPONSES,
        examples=[OpenApiExample(kind, value=example, request_only=True), ANSWER],
    )


class IdentifyView(_TrackingView):
    message_type = "identify"

    @documented(
        "identify",
        {
            "messageId": "m-1",
            "userId": "u-42",
            "anonymousId": "a-7",
            "timestamp": "2026-12-01T09:00:00Z",
            "traits": {
                "email": "ada@acme.com",
                "firstName": "Ada",
                "company": {"domain": "acme.com"},
            },
        },
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class TrackView(_TrackingView):
    message_type = "track"

    @documented(
        "track",
        {
            "messageId": "m-2",
            "userId": "u-42",
            "event": "Demo Requested",
            "timestamp": "2026-12-01T09:05:00Z",
            "properties": {"campaign": "q4-webinar"},
        },
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class PageView(_TrackingView):
    message_type = "page"

    @documented(
        "page",
        {
            "messageId": "m-3",
            "anonymousId": "a-7",
            "timestamp": "2026-12-01T08:55:00Z",
            "context": {"page": {"url": "https://acme.example/pricing", "path": "/pricing"}},
        },
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class ScreenView(_TrackingView):
    message_type = "screen"

    @documented("screen", {"messageId": "m-4", "userId": "u-42", "name": "Dashboard"})
    def post(self, request: Request) -> Response:
        return super().post(request)


class GroupView(_TrackingView):
    message_type = "group"

    @documented(
        "group",
        {
            "messageId": "m-5",
            "userId": "u-42",
            "groupId": "g-1",
            "traits": {"domain": "acme.com", "name": "Acme", "employees": 800},
        },
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class AliasView(_TrackingView):
    message_type = "alias"

    @documented("alias", {"messageId": "m-6", "previousId": "a-7", "userId": "u-42"})
    def post(self, request: Request) -> Response:
        return super().post(request)


class BatchView(_TrackingView):
    @extend_schema(
        operation_id="tracking_batch",
        tags=["tracking"],
        summary="Segment `batch`",
        description=(
            "Messages of any type, each with its `type`, applied in order; the batch's "
            "`context` is under each message's, its `sentAt` the time of a message without "
            "one. Any invalid message → 400 naming its `index`, and nothing is stored."
        ),
        request=Batch,
        responses=TRACKING_RESPONSES,
        examples=[ANSWER],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)
