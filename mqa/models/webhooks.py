"""Outbound webhooks and alerts: subscriptions and a durable outbox of deliveries (SPEC §6).

A subscription is a channel: a Standard Webhooks endpoint, a Slack-compatible incoming
webhook (a message for people) or an email address. Alerts are the same deliveries: one
outbox, retries, signatures where they apply, the same rules for target addresses. A
subscription may narrow handoff events to one assignee or one queue.
"""

from django.db import models


class WebhookSubscription(models.Model):
    class Event(models.TextChoices):
        CONTACT_STATUS_CHANGED = "contact.status_changed"
        ACCOUNT_STATUS_CHANGED = "account.status_changed"
        HANDOFF_CREATED = "handoff.created"
        HANDOFF_UPDATED = "handoff.updated"
        HANDOFF_SLA_BREACHED = "handoff.sla_breached"
        HANDOFF_SLA_DUE_SOON = "handoff.sla_due_soon"
        WEBHOOK_DEAD = "webhook.dead"

    class Channel(models.TextChoices):
        WEBHOOK = "webhook", "Webhook (Standard Webhooks JSON)"
        SLACK = "slack", "Slack-compatible incoming webhook"
        EMAIL = "email", "Email"

    # Database defaults too: rows written before channels existed, or by plain SQL, are webhooks.
    channel = models.CharField(
        max_length=8, choices=Channel.choices, default=Channel.WEBHOOK, db_default=Channel.WEBHOOK
    )
    url = models.URLField(max_length=2000, blank=True, default="")
    email = models.EmailField(
        blank=True, default="", db_default="", help_text="the address of an email channel"
    )
    assignee = models.CharField(
        max_length=255,
        blank=True,
        default="",
        db_default="",
        help_text="only handoffs assigned to them",
    )
    queue = models.CharField(
        max_length=100, blank=True, default="", db_default="", help_text="only this queue"
    )
    dead_since = models.DateTimeField(
        null=True, blank=True, help_text="a delivery died: alerted once, until one succeeds"
    )
    secret = models.CharField(max_length=200, help_text="whsec_… (Standard Webhooks)")
    event_types = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.email if self.channel == self.Channel.EMAIL else self.url


class WebhookDelivery(models.Model):
    """One message to one subscriber, written in the transaction of the change it reports."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        DEAD = "dead"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40)
    webhook_id = models.CharField(max_length=64, unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.status})"
