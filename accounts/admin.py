from django.contrib import admin
from django.http import HttpRequest

from accounts.models import Account, AccountSignal


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("domain", "name", "industry", "employee_count", "tier", "is_target", "owner")
    list_filter = ("is_target", "tier", "industry", "region")
    search_fields = ("domain", "name", "external_id")


@admin.register(AccountSignal)
class AccountSignalAdmin(admin.ModelAdmin):
    list_display = ("account", "type", "occurred_at", "source", "external_id")
    list_filter = ("type", "source")
    search_fields = ("account__domain", "external_id")
    raw_id_fields = ("account",)
    list_select_related = ("account",)


def _view_only(cls: type[admin.ModelAdmin]) -> None:
    """Ingested data changes only through the ingest services (normalisation, links, rescoring)."""

    def no(self: admin.ModelAdmin, request: HttpRequest, obj: object = None) -> bool:
        return False

    cls.has_add_permission = no  # type: ignore[method-assign,assignment]
    cls.has_change_permission = no  # type: ignore[method-assign,assignment]
    cls.has_delete_permission = no  # type: ignore[method-assign,assignment]


for _admin in (
    AccountAdmin,
    AccountSignalAdmin,
):
    _view_only(_admin)
