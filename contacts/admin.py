from django.contrib import admin

from contacts.models import Contact, EngagementEvent
from mqa.admin.base import view_only


@admin.register(Contact)
@view_only
class ContactAdmin(admin.ModelAdmin):
    list_display = ("email", "title", "seniority", "buying_role", "account", "lead_source")
    list_filter = ("seniority", "buying_role", "lead_source")
    search_fields = ("email", "first_name", "last_name", "account__domain")
    raw_id_fields = ("account",)
    list_select_related = ("account",)
    readonly_fields = ("email_domain",)


@admin.register(EngagementEvent)
@view_only
class EngagementEventAdmin(admin.ModelAdmin):
    list_display = ("contact", "type", "occurred_at", "source", "external_id")
    list_filter = ("type", "source")
    search_fields = ("contact__email", "external_id")
    raw_id_fields = ("contact",)
    list_select_related = ("contact",)
