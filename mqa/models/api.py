"""REST API keys."""

from django.db import models


class ApiKey(models.Model):
    """A REST client's key; only a SHA-256 of it is stored (SPEC §7)."""

    class Scope(models.TextChoices):
        READ = "read"
        INGEST = "ingest"
        FEEDBACK = "feedback"
        ADMIN = "admin"

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
