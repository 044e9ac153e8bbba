from django.contrib import admin
from django.http import HttpRequest

from contacts.models import Contact, EngagementEvent


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("email", "title", "seniority", "buying_role", "account", "lead_source")
    list_filter = ("seniority", "buying_role", "lead_source")
    search_fields = ("email", "first_name", "last_name", "account__domain")
    raw_id_fields = ("account",)
    list_select_related = ("account",)
    readonly_fields = ("email_domain",)


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    list_display = ("contact", "type", "occurred_at", "source", "external_id")
    list_filter = ("type", "source")
    search_fields = ("contact__email", "external_id")
    raw_id_fields = ("contact",)
    list_select_related = ("contact",)


def _view_only(cls: type[admin.ModelAdmin]) -> None:
    """Ingested data changes only through the ingest services (normalisation, links, rescoring)."""

    def no(self: admin.ModelAdmin, request: HttpRequest, obj: object = None) -> bool:
        return False

    cls.has_add_permission = no  # type: ignore[method-assign,assignment]
    cls.has_change_permission = no  # type: ignore[method-assign,assignment]
    cls.has_delete_permission = no  # type: ignore[method-assign,assignment]


for _admin in (
    ContactAdmin,
    EngagementEventAdmin,
):
    _view_only(_admin)
