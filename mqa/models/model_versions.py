"""Scoring model versions (drafts, the active one, retired ones) and their change history."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ScoringModelVersion(models.Model):
    """One version of the scoring model document; drafts are editable, one is active."""

    class State(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        RETIRED = "retired"

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    document = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="active"), name="one_active_scoring_model"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.name} ({self.state})"


class ScoringModelAudit(models.Model):
    """Who changed which rule of which version, when — including bulk imports and publishing.

    The actor is an admin user (`user`, `username`) or a REST client (`api_key_name`, the
    key's name when it acted); neither for the system (commands, the demo).
    """

    class Action(models.TextChoices):
        IMPORTED = "imported"
        EDITED = "edited"
        DRAFTED = "drafted_from_active"
        PUBLISHED = "published"
        ROLLED_BACK = "rolled_back", "Rolled back"

    version = models.ForeignKey(ScoringModelVersion, on_delete=models.CASCADE, related_name="audit")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, default="")
    api_key_name = models.CharField(max_length=100, blank=True, default="")
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    source = models.ForeignKey(
        ScoringModelVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="the version a rollback copied",
    )
    changes = models.JSONField(default=list)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"v{self.version_id} {self.action} by {self.actor}"

    @property
    def actor(self) -> str:
        """Who acted, as the change history names them."""
        if self.api_key_name:
            return f"API key “{self.api_key_name}”"
        return self.username or "system"
