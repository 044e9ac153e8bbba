from django.contrib import admin

from accounts.models import Account, AccountSignal
from mqa.admin.base import view_only


@admin.register(Account)
@view_only
class AccountAdmin(admin.ModelAdmin):
    list_display = ("domain", "name", "industry", "employee_count", "tier", "is_target", "owner")
    list_filter = ("is_target", "tier", "industry", "region")
    search_fields = ("domain", "name", "external_id")


@admin.register(AccountSignal)
@view_only
class AccountSignalAdmin(admin.ModelAdmin):
    list_display = ("account", "type", "occurred_at", "source", "external_id")
    list_filter = ("type", "source")
    search_fields = ("account__domain", "external_id")
    raw_id_fields = ("account",)
    list_select_related = ("account",)
