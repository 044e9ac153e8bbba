"""Computed rows (scores, history, rescore runs) and API keys: shown, not edited."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from mqa.admin.base import ReadOnlyAdmin
from mqa.models import (
    AccountScore,
    AccountStatusChange,
    ApiKey,
    ContactScore,
    ContactStatusChange,
    RescoreRun,
)
from mqa.services.api_keys import api_key_revoke


@admin.register(ContactScore)
class ContactScoreAdmin(ReadOnlyAdmin):
    list_display = ("contact", "status", "fit", "engagement", "total", "status_since")
    list_filter = ("status",)
    search_fields = ("contact__email",)
    list_select_related = ("contact",)


@admin.register(AccountScore)
class AccountScoreAdmin(ReadOnlyAdmin):
    list_display = ("account", "status", "fit", "engagement", "engaged_contacts", "status_since")
    list_filter = ("status", "account__is_target")
    search_fields = ("account__domain", "account__name")
    list_select_related = ("account",)


@admin.register(ContactStatusChange)
class ContactStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("contact", "from_status", "to_status", "changed_at", "cause", "model_version")
    list_filter = ("to_status", "cause")
    search_fields = ("contact__email",)
    list_select_related = ("contact", "model_version")


@admin.register(AccountStatusChange)
class AccountStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("account", "from_status", "to_status", "changed_at", "cause", "model_version")
    list_filter = ("to_status", "cause")
    search_fields = ("account__domain",)
    list_select_related = ("account", "model_version")


@admin.register(RescoreRun)
class RescoreRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "model_version", "state", "phase", "done", "total", "started_at")
    list_filter = ("state",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py create_api_key` (the secret is shown once there)."""

    list_display = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    readonly_fields = (
        "name",
        "prefix",
        "hashed_key",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = api_key_revoke(key_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"revoked {count} API key(s)", messages.SUCCESS)
