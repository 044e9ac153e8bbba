"""Serializers that only document request and response shapes in the OpenAPI schema.

The bulk endpoints validate with msgspec (see `mqa.batch`), not with these.
"""

from __future__ import annotations

from rest_framework import serializers


def text() -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, max_length=255)


class AccountItem(serializers.Serializer):
    domain = serializers.CharField()
    name = text()
    industry = text()
    employee_count = serializers.IntegerField(required=False, allow_null=True)
    annual_revenue = serializers.FloatField(required=False, allow_null=True)
    country = serializers.CharField(required=False, allow_null=True, min_length=2, max_length=2)
    region = text()
    tier = text()
    is_target = serializers.BooleanField(required=False, allow_null=True)
    owner = text()
    external_id = text()
    custom = serializers.DictField(required=False, allow_null=True)


class ContactItem(serializers.Serializer):
    email = serializers.CharField()
    first_name = text()
    last_name = text()
    title = text()
    seniority = text()
    job_function = text()
    buying_role = text()
    country = serializers.CharField(required=False, allow_null=True, min_length=2, max_length=2)
    lead_source = text()
    account_domain = serializers.CharField(required=False, allow_null=True)
    custom = serializers.DictField(required=False, allow_null=True)


class ActivityItem(serializers.Serializer):
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField(help_text="with a timezone; at most 300 s ahead")
    id = serializers.CharField(max_length=255)
    source = serializers.CharField(required=False, default="api", max_length=255)
    properties = serializers.DictField(required=False)


class EventItem(ActivityItem):
    email = serializers.CharField()


class SignalItem(ActivityItem):
    account_domain = serializers.CharField()


def bulk_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {"items": item(many=True, help_text="at most 1000 items, 1 MB in all")},
    )


AccountBulk = bulk_of(AccountItem, "AccountBulk")
ContactBulk = bulk_of(ContactItem, "ContactBulk")
EventBulk = bulk_of(EventItem, "EventBulk")
SignalBulk = bulk_of(SignalItem, "SignalBulk")


class UpsertResult(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class ContactUpsertResult(UpsertResult):
    suppressed = serializers.IntegerField(help_text="items for erased addresses: not stored")


class Conflict(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.CharField()


class IngestResult(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    conflicts = Conflict(many=True)
    suppressed = serializers.IntegerField(
        help_text="items for erased addresses: not stored (always 0 for signals)"
    )


class StatusChange(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    changed_at = serializers.DateTimeField()
    cause = serializers.CharField()
    model_version = serializers.IntegerField()
    segment = serializers.CharField(
        allow_null=True, help_text="the segment whose model decided the change (null: none)"
    )
    scores = serializers.DictField()
    explanation = serializers.DictField()
