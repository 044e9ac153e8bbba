from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Computed rows: shown, never edited by hand."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
