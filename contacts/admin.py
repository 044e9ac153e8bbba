from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from contacts.erasure import MAX_EMAILS, contacts_erase
from contacts.models import Contact, EngagementEvent, ErasureAudit
from mqa.admin.base import ReadOnlyAdmin, view_only


@admin.register(Contact)
@view_only
class ContactAdmin(admin.ModelAdmin):
    list_display = ("email", "title", "seniority", "buying_role", "account", "lead_source")
    list_filter = ("seniority", "buying_role", "lead_source")
    search_fields = ("email", "first_name", "last_name", "account__domain")
    raw_id_fields = ("account",)
    list_select_related = ("account",)
    readonly_fields = ("email_domain",)
    actions = ["erase"]

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @admin.action(
        description="Erase selected contacts (and suppress their emails)", permissions=["erase"]
    )
    def erase(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        emails = list(queryset.order_by("pk").values_list("email", flat=True))
        actor = f"admin:{request.user.get_username()}"
        erased = sum(
            contacts_erase(emails=emails[start : start + MAX_EMAILS], actor=actor).erased
            for start in range(0, len(emails), MAX_EMAILS)
        )
        self.message_user(
            request, f"Erased {erased} contact(s); their emails are suppressed.", messages.SUCCESS
        )


@admin.register(EngagementEvent)
@view_only
class EngagementEventAdmin(admin.ModelAdmin):
    list_display = ("contact", "type", "occurred_at", "source", "external_id")
    list_filter = ("type", "source")
    search_fields = ("contact__email", "external_id")
    raw_id_fields = ("contact",)
    list_select_related = ("contact",)


@admin.register(ErasureAudit)
class ErasureAuditAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "requested", "erased")
    date_hierarchy = "at"
