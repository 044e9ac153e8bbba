"""Admin for scoring outputs and model versions (rule editing in depth comes with issue 5)."""

from django.contrib import admin

from mqa.models import (
    AccountScore,
    AccountStatusChange,
    ContactScore,
    ContactStatusChange,
    RescoreRun,
    ScoringModelVersion,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Computed rows: shown, never edited by hand."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ScoringModelVersion)
class ScoringModelVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "name", "state", "created_at", "published_at")
    list_filter = ("state",)
    readonly_fields = ("version", "state", "created_at", "published_at")


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
