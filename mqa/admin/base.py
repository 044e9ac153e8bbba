from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Computed rows: shown, never edited by hand."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


def view_only(cls: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    """Ingested data changes only through the ingest services (normalisation, links, rescoring)."""

    def no(self: admin.ModelAdmin, request: HttpRequest, obj: object = None) -> bool:
        return False

    cls.has_add_permission = no  # type: ignore[method-assign,assignment]
    cls.has_change_permission = no  # type: ignore[method-assign,assignment]
    cls.has_delete_permission = no  # type: ignore[method-assign,assignment]
    return cls
