"""Accounts (companies) and their anonymous, account-level signals (SPEC §2)."""

from django.db import models


class Account(models.Model):
    domain = models.CharField(max_length=253, unique=True)
    name = models.CharField(max_length=255, null=True, blank=True)
    industry = models.CharField(max_length=255, null=True, blank=True)
    employee_count = models.BigIntegerField(null=True, blank=True)
    annual_revenue = models.FloatField(null=True, blank=True)
    country = models.CharField(max_length=2, null=True, blank=True)
    region = models.CharField(max_length=255, null=True, blank=True)
    tier = models.CharField(max_length=255, null=True, blank=True)
    is_target = models.BooleanField(default=False)
    owner = models.CharField(max_length=255, null=True, blank=True)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["domain"]
        indexes = [models.Index(fields=["is_target", "domain"])]

    def __str__(self) -> str:
        return self.domain


class AccountSignal(models.Model):
    # Served by the (account, occurred_at) index below, as events are (contacts.models).
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="signals", db_index=False
    )
    type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="signal_source_id_unique"
            )
        ]
        indexes = [models.Index(fields=["account", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.type} @ {self.account_id}"
