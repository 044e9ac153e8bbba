"""The durable work queue between ingest and scoring, and the full rescore's progress."""

import uuid

from django.db import models

from mqa.models.model_versions import ScoringModelVersion
from mqa.models.scores import Cause, RecordKind


class PendingWork(models.Model):
    """A contact or account whose score is stale: written in the ingest transaction (SPEC §5).

    One row per record (touching it again renews `token`); a worker leases rows, rescores
    them, and deletes only the rows whose token it saw, so a touch during the work survives.
    """

    kind = models.CharField(max_length=8, choices=RecordKind.choices)
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
    """A full rescore: contacts first, then accounts, in chunks — after publishing a model
    (`cause` publish), or to take in what time passing changed (`cause` time, SPEC §4).

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
    cause = models.CharField(
        max_length=10,
        choices=[(Cause.PUBLISH, "publish"), (Cause.TIME, "time")],
        default=Cause.PUBLISH,
    )
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
        return (
            f"{self.cause} rescore v{self.model_version_id} {self.state} {self.done}/{self.total}"
        )


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
