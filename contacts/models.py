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
    # No index of its own: the (contact, occurred_at) index below serves every lookup by
    # contact, and one index less is one write less for every event ingested.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="events", db_index=False
    )
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


class SuppressedEmail(models.Model):
    """An erased address (SPEC §7 *Erasure*): later items for it are not stored.

    Only a keyed hash is kept — HMAC-SHA256 with the server's secret of the normalised email
    (`contacts.suppression.email_digest`) — never the address itself.
    """

    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"suppressed {self.digest[:12]}…"


class ErasureAudit(models.Model):
    """Who erased how many contacts, and when; never which (SPEC §7 *Erasure*)."""

    actor = models.CharField(max_length=255)
    requested = models.PositiveIntegerField(help_text="distinct addresses erased and suppressed")
    erased = models.PositiveIntegerField(help_text="contacts deleted")
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} erased {self.erased} at {self.at:%Y-%m-%d %H:%M}"
