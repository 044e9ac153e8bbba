"""Contacts (people) and their engagement events (SPEC §2)."""

from django.db import models


class Contact(models.Model):
    email = models.CharField(max_length=320, unique=True)
    # Kept so that a late-arriving account can find the contacts it should link to.
    email_domain = models.CharField(max_length=253, db_index=True)
    first_name = models.CharField(max_length=255, null=True, blank=True)
    last_name = models.CharField(max_length=255, null=True, blank=True)
    title = models.CharField(max_length=255, null=True, blank=True)
    seniority = models.CharField(max_length=255, null=True, blank=True)
    job_function = models.CharField(max_length=255, null=True, blank=True)
    buying_role = models.CharField(max_length=255, null=True, blank=True)
    country = models.CharField(max_length=2, null=True, blank=True)
    lead_source = models.CharField(max_length=255, null=True, blank=True)
    account_domain = models.CharField(max_length=253, null=True, blank=True, db_index=True)
    custom = models.JSONField(default=dict, blank=True)
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class EngagementEvent(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="event_source_id_unique")
        ]
        indexes = [models.Index(fields=["contact", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.type} @ {self.contact_id}"
