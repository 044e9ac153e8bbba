"""Scoring model versions in the admin."""

from django.contrib import admin

from mqa.models import ScoringModelVersion


@admin.register(ScoringModelVersion)
class ScoringModelVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "name", "state", "created_at", "published_at")
    list_filter = ("state",)
    readonly_fields = ("version", "state", "created_at", "published_at")
