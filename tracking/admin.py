"""The Tracking API's memory, shown read-only: messages waiting for an identity, and the
userIds/anonymousIds tied to emails (SPEC §9)."""

from django.contrib import admin

from mqa.admin.base import ReadOnlyAdmin
from tracking.models import Identity, PendingMessage


@admin.register(PendingMessage)
class PendingMessageAdmin(ReadOnlyAdmin):
    list_display = ("message", "type", "user_id", "anonymous_id", "previous_id")
    search_fields = ("user_id", "anonymous_id", "previous_id", "message__message_id")
    list_select_related = ("message",)


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ("value", "kind", "email", "created_at")
    search_fields = ("value", "email")
    list_filter = ("kind",)
