"""What the Tracking API remembers beyond contacts, accounts and events (SPEC §9).

* `TrackedMessage` — every message stored, by `messageId`, with a digest of its payload: a
  re-sent id is a duplicate (same digest) or a conflict (another). Keeps the email the message
  was applied to (so an erasure finds it), never the message itself.
* `PendingMessage` — a message whose identity has no email yet, with what it will apply once
  a later message ties its `userId`/`anonymousId` to one.
* `Identity` — a `userId` or `anonymousId` tied to an email; the first tie is kept.
"""

from __future__ import annotations

from django.db import models


class IdentityKind(models.TextChoices):
    USER = "user"
    ANONYMOUS = "anonymous"


class TrackedMessage(models.Model):
    message_id = models.CharField(max_length=255, unique=True)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the canonical payload")
    email = models.CharField(
        max_length=320, null=True, blank=True, db_index=True, help_text="null while pending"
    )
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.message_id


class PendingMessage(models.Model):
    message = models.OneToOneField(TrackedMessage, on_delete=models.CASCADE, primary_key=True)
    type = models.CharField(max_length=16)
    user_id = models.CharField(max_length=255, null=True, db_index=True)
    anonymous_id = models.CharField(max_length=255, null=True, db_index=True)
    previous_id = models.CharField(max_length=255, null=True, db_index=True)
    content = models.JSONField(help_text="the contact fields and event it applies, once tied")

    def __str__(self) -> str:
        return f"pending {self.type} #{self.pk}"


class Identity(models.Model):
    """userIds and anonymousIds share one namespace (SDK anonymous ids are UUIDs)."""

    value = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    email = models.CharField(max_length=320, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"
