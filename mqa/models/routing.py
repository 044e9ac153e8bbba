"""Handoffs to sales and the routing configuration (SPEC §6)."""

from django.db import models
from django.db.models import Q

from mqa.models.model_versions import ScoringModelVersion


class RejectReason(models.TextChoices):
    WRONG_FIT = "wrong_fit"
    WRONG_INDUSTRY = "wrong_industry"
    NO_NEED = "no_need"
    NOT_DECISION_MAKER = "not_decision_maker"
    BAD_DATA = "bad_data"
    DUPLICATE = "duplicate"
    TIMING = "timing"
    COMPETITOR = "competitor"
    OTHER = "other"


class Handoff(models.Model):
    """A qualified lead or account handed to sales (SPEC §6); routing creates them."""

    class Kind(models.TextChoices):
        LEAD = "lead"
        ACCOUNT = "account"

    class Status(models.TextChoices):
        OPEN = "open"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    class Outcome(models.TextChoices):
        SQL = "sql"
        OPPORTUNITY = "opportunity"
        WON = "won"
        LOST = "lost"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, null=True, blank=True, related_name="handoffs"
    )
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, null=True, blank=True, related_name="handoffs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, null=True, blank=True)
    assignee = models.CharField(max_length=255, null=True, blank=True)
    queue = models.CharField(max_length=100, null=True, blank=True)
    unassigned = models.BooleanField(default=False)
    reason = models.CharField(max_length=32, choices=RejectReason.choices, null=True, blank=True)
    note = models.TextField(blank=True, default="")
    decision = models.JSONField(default=dict, help_text="why it went where it went")
    context = models.JSONField(
        default=dict,
        blank=True,
        help_text="why now: what qualified it (mqa.services.handoff_context)",
    )
    model_version = models.ForeignKey(
        ScoringModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    sla_warned_at = models.DateTimeField(null=True, blank=True, help_text="told it is due soon")
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Stamped by the database on every write (`mqa.feed`).
    feed_position = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact"], condition=Q(status="open"), name="one_open_lead_handoff"
            ),
            models.UniqueConstraint(
                fields=["account"], condition=Q(status="open"), name="one_open_account_handoff"
            ),
        ]
        indexes = [models.Index(fields=["kind", "status"]), models.Index(fields=["assignee"])]

    def __str__(self) -> str:
        return f"{self.kind} handoff {self.pk} ({self.status})"


class RoutingSettings(models.Model):
    """The one routing document (`mqa.routing/v1`), edited in the admin or over the API."""

    document = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "routing settings"

    def __str__(self) -> str:
        return "routing settings"


class RoutingQueueState(models.Model):
    """Where round-robin stands in a queue: the member assigned last."""

    queue = models.CharField(max_length=100, unique=True)
    last_assignee = models.CharField(max_length=255, null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.queue}: last {self.last_assignee}"
