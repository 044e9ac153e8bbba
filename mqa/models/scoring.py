"""Scoring model versions, stored scores, status history and the durable work queue.

Scores live beside (not inside) accounts and contacts: they are outputs of the engine,
rewritten when a rescore changes them, while history rows are appended and never rewritten
(SPEC §4). A score's `model_version` and `computed_at` name the computation that last wrote it:
the full rescore after a publish leaves a row alone when its values come out unchanged.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class ContactStatus(models.TextChoices):
    NONE = "none"
    ENGAGED = "engaged"
    MQL = "mql"
    DISQUALIFIED = "disqualified"


class AccountStatus(models.TextChoices):
    NONE = "none"
    ENGAGED = "engaged"
    MQA = "mqa"
    DISQUALIFIED = "disqualified"


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
    """Who changed which rule of which version, when — including bulk imports and publishing."""

    class Action(models.TextChoices):
        IMPORTED = "imported"
        EDITED = "edited"
        DRAFTED = "drafted_from_active"
        PUBLISHED = "published"

    version = models.ForeignKey(ScoringModelVersion, on_delete=models.CASCADE, related_name="audit")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, default="")
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    changes = models.JSONField(default=list)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"v{self.version_id} {self.action} by {self.username or 'system'}"


class Cause(models.TextChoices):
    INGEST = "ingest"
    PUBLISH = "publish"
    TIME = "time"


class ScoreStamp(models.Model):
    """When a score's status last changed, and which model version computed it when."""

    status_since = models.DateTimeField(null=True, blank=True)
    # Not indexed: a rescore changes it on every row it rewrites, and an indexed column
    # would make each such update a non-HOT one (new entries in every index of the table).
    model_version = models.ForeignKey(
        ScoringModelVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class ContactScore(ScoreStamp):
    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    status = models.CharField(
        max_length=12, choices=ContactStatus.choices, default=ContactStatus.NONE, db_index=True
    )
    fit = models.IntegerField(default=0)
    engagement = models.FloatField(default=0)
    total = models.FloatField(default=0)
    disqualified_reasons = models.JSONField(default=list)
    breakdown = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.status}"


class AccountScore(ScoreStamp):
    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    status = models.CharField(
        max_length=12, choices=AccountStatus.choices, default=AccountStatus.NONE, db_index=True
    )
    fit = models.IntegerField(default=0)
    engagement = models.FloatField(default=0)
    signal_score = models.FloatField(default=0)
    engaged_contacts = models.IntegerField(default=0)
    mql_contacts = models.IntegerField(default=0)
    roles_covered = models.JSONField(default=list)
    missing = models.JSONField(default=list)
    disqualified_reasons = models.JSONField(default=list)
    breakdown = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.account_id}: {self.status}"


class StatusChange(models.Model):
    """Fields shared by the two history tables; rows are only ever inserted."""

    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    changed_at = models.DateTimeField(db_index=True)
    model_version = models.ForeignKey(
        ScoringModelVersion, on_delete=models.PROTECT, related_name="+"
    )
    cause = models.CharField(max_length=10, choices=Cause.choices)
    scores = models.JSONField()
    explanation = models.JSONField()

    class Meta:
        abstract = True
        ordering = ["-changed_at", "-id"]


class ContactStatusChange(StatusChange):
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="status_changes"
    )

    class Meta(StatusChange.Meta):
        indexes = [models.Index(fields=["contact", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_status} → {self.to_status}"


class AccountStatusChange(StatusChange):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="status_changes"
    )

    class Meta(StatusChange.Meta):
        indexes = [models.Index(fields=["account", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_status} → {self.to_status}"


class PendingWork(models.Model):
    """A contact or account whose score is stale: written in the ingest transaction (SPEC §5).

    One row per record (touching it again renews `token`); a worker leases rows, rescores
    them, and deletes only the rows whose token it saw, so a touch during the work survives.
    """

    class Kind(models.TextChoices):
        CONTACT = "contact"
        ACCOUNT = "account"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    object_id = models.BigIntegerField()
    token = models.UUIDField(default=uuid.uuid4)
    cause = models.CharField(max_length=10, choices=Cause.choices, default=Cause.INGEST)
    enqueued_at = models.DateTimeField(db_index=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="pending_work_unique")
        ]
        indexes = [models.Index(fields=["cause", "enqueued_at"], name="pending_work_cause_age")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class RescoreRun(models.Model):
    """A full rescore after publishing a model: contacts first, then accounts, in chunks.

    The chunks (`RescoreChunk`) are planned when the first worker picks the run up; `phase`
    moves to accounts when the last contact chunk is done, `done` counts scored records.
    """

    class State(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        SUPERSEDED = "superseded"

    class Phase(models.TextChoices):
        CONTACTS = "contacts"
        ACCOUNTS = "accounts"

    model_version = models.ForeignKey(
        ScoringModelVersion, on_delete=models.PROTECT, related_name="rescore_runs"
    )
    route = models.BooleanField(default=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.CONTACTS)
    done = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"rescore v{self.model_version_id} {self.state} {self.done}/{self.total}"


class RescoreChunk(models.Model):
    """The records `lo < id <= hi` of one phase of a run: claimed under a row lock, held until
    the chunk's scores commit with `state = done`, so a chunk is done once — a worker that
    dies releases its lock with its connection, and the chunk is claimed again."""

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"

    run = models.ForeignKey(RescoreRun, on_delete=models.CASCADE, related_name="chunks")
    phase = models.CharField(max_length=10, choices=RescoreRun.Phase.choices)
    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "phase", "lo"], name="rescore_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"{self.phase} ({self.lo}, {self.hi}] {self.state}"


class Checkpoint(models.Model):
    """When a periodic job last covered time up to; lets it catch up after downtime."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.at.isoformat()}"
