"""Contact endpoints of SPEC §7: bulk upserts, events, lookup, one contact and its history,
erasure."""

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

from contacts.erasure import MAX_EMAILS, contacts_erase, erasure_emails_parse
from contacts.models import Contact
from contacts.selectors import (
    contact_get,
    contact_history_list,
    contact_list,
    contact_of,
    contacts_updated_since,
)
from contacts.services import contacts_upsert, events_ingest
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
    UtcDateTimeFilter,
    bulk_call,
    feed_response,
    page_of,
    problem,
)
from mqa.api.history import status_change_out
from mqa.batch import Invalid
from mqa.http.bodies import body_bytes, json_document, require_json
from mqa.http.problems import invalid_field, invalid_fields, not_found
from mqa.models import ContactStatus
from mqa.scoring.normalize import normalize_email

NOT_FOUND = {404: problem("no contact with this id")}


class ContactsBulkView(ApiView):
    permission_classes = [scope("ingest")]
    rate = "ingest"

    @extend_schema(
        operation_id="contacts_bulk_upsert",
        request=docs.ContactBulk,
        responses={200: docs.ContactUpsertResult, **BULK_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        return bulk_call(request, contacts_upsert, kind="contacts")


class EventsBulkView(ApiView):
    permission_classes = [scope("ingest")]
    rate = "ingest"

    @extend_schema(
        operation_id="events_bulk_ingest",
        request=docs.EventBulk,
        responses={202: docs.IngestResult, **BULK_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        return bulk_call(request, events_ingest, kind="events", ok=status.HTTP_202_ACCEPTED)


class ContactMissing(serializers.Serializer):
    criterion = serializers.ChoiceField(choices=["fit_floor", "engagement_floor", "total"])
    actual = serializers.FloatField(help_text="the contact's fit, engagement or total")
    required = serializers.FloatField(help_text="the threshold of its model and segment")


class ContactOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    first_name = serializers.CharField(allow_null=True)
    last_name = serializers.CharField(allow_null=True)
    title = serializers.CharField(allow_null=True)
    seniority = serializers.CharField(allow_null=True)
    job_function = serializers.CharField(allow_null=True)
    buying_role = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True)
    lead_source = serializers.CharField(allow_null=True)
    custom = serializers.DictField()
    status = serializers.ChoiceField(choices=ContactStatus.choices)
    fit = serializers.IntegerField()
    engagement = serializers.FloatField()
    total = serializers.FloatField()
    disqualified_reasons = serializers.ListField(child=serializers.CharField())
    breakdown = serializers.DictField()
    account_domain = serializers.CharField(allow_null=True)
    segment = serializers.CharField(
        allow_null=True, help_text="its account's segment in the scoring model (null: none)"
    )
    status_since = serializers.DateTimeField(allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    missing = ContactMissing(
        many=True,
        help_text="the MQL thresholds not met (none for an MQL); a disqualified contact is "
        "told by `disqualified_reasons`, its thresholds not met still listed here",
    )


class ContactFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(method="filter_email")
    status = django_filters.ChoiceFilter(field_name="score__status", choices=ContactStatus.choices)
    segment = django_filters.CharFilter(field_name="score__segment", lookup_expr="iexact")
    updated_since = UtcDateTimeFilter(method="filter_updated_since")

    class Meta:
        model = Contact
        fields = ["email", "status", "segment", "updated_since"]

    def filter_email(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(email=normalize_email(value) or value.strip().lower())

    def filter_updated_since(self, queryset: Any, name: str, value: Any) -> Any:
        return contacts_updated_since(queryset, value)


class ContactListView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="contacts_list",
        parameters=[
            OpenApiParameter("email", str, description="exact email (normalised)"),
            OpenApiParameter("status", str, enum=ContactStatus.values),
            OpenApiParameter("segment", str, description="segment name (case-insensitive)"),
            UPDATED_SINCE,
            *PAGE_PARAMETERS,
        ],
        responses={200: page_of(ContactOut, "ContactPage"), **BAD_QUERY, **AUTH_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = ContactFilter(request.query_params, queryset=contact_list())
        if not filters.is_valid():
            raise invalid_fields(filters.errors)
        if "updated_since" in request.query_params:
            return feed_response(
                request, filters.qs, position="score__feed_position", out=contact_of
            )
        page = CursorPage()
        rows: list[Any] = page.paginate_queryset(filters.qs, request, view=self) or []
        return page.get_paginated_response([contact_of(c) for c in rows])


class ContactDetailView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="contact_get", responses={200: ContactOut, **NOT_FOUND, **AUTH_RESPONSES}
    )
    def get(self, request: Request, contact_id: int) -> Response:
        contact = contact_get(contact_id=contact_id)
        if contact is None:
            raise not_found("contact with this id")
        return Response(contact)


class ContactHistoryView(ApiView):
    permission_classes = [scope("read")]

    @extend_schema(
        operation_id="contact_history",
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_of(docs.StatusChange, "ContactHistoryPage"),
            **BAD_QUERY,
            **NOT_FOUND,
            **AUTH_RESPONSES,
        },
    )
    def get(self, request: Request, contact_id: int) -> Response:
        changes = contact_history_list(contact_id=contact_id)
        if changes is None:
            raise not_found("contact with this id")
        page = NewestFirst()
        rows: list[Any] = page.paginate_queryset(changes, request, view=self) or []
        return page.get_paginated_response([status_change_out(c) for c in rows])


class ContactsEraseView(ApiView):
    permission_classes = [scope("admin")]

    class InputSerializer(serializers.Serializer):
        emails = serializers.ListField(
            child=serializers.CharField(max_length=320),
            min_length=1,
            max_length=MAX_EMAILS,
            help_text="the addresses to erase and suppress (normalised as contacts are)",
        )

    class OutputSerializer(serializers.Serializer):
        erased = serializers.IntegerField(help_text="contacts deleted")

    @extend_schema(
        operation_id="contacts_erase",
        request=InputSerializer,
        description=(
            "Delete each contact with its events, scores and status history, clear its "
            "handoffs' personal fields and its address from undelivered webhooks, rescore its "
            "account, and suppress the address: later items for it are counted as "
            "`suppressed`, not stored. An address without a contact is suppressed too."
        ),
        responses={
            200: OutputSerializer,
            400: problem("invalid `emails`: nothing was erased"),
            413: problem("a body larger than 1 MB"),
            415: problem("a body that is not JSON"),
            **AUTH_RESPONSES,
        },
    )
    def post(self, request: Request) -> Response:
        # Read as the bulk bodies are (415, 413, NUL and depth checks), then validated whole.
        require_json(request)
        try:
            emails = erasure_emails_parse(json_document(body_bytes(request)))
        except Invalid as error:
            raise invalid_field(error.field, str(error)) from error
        result = contacts_erase(emails=emails, actor=f"api-key:{request.auth.name}")
        return Response(self.OutputSerializer(result.as_dict()).data)
