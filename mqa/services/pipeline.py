"""The durable work queue between ingest and scoring (SPEC §5).

Ingest calls `work_add` inside its own transaction, so accepted data and the record of the
work it causes commit together; the Celery task is only a wake-up call sent after commit.
A lost wake-up (broker down, worker killed) delays scoring but loses nothing: the sweeper
re-sends it while claimable work is waiting. Workers lease rows, so a killed worker's rows
come back after `MQA_WORK_LEASE_SECONDS`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mqa.ingest import race_retried
from mqa.models import Cause, PendingWork

logger = logging.getLogger(__name__)

CONTACT = PendingWork.Kind.CONTACT
ACCOUNT = PendingWork.Kind.ACCOUNT


@dataclass(frozen=True)
class Claimed:
    kind: str
    object_id: int
    token: uuid.UUID
    cause: str


def work_add(*, kind: str, ids: Iterable[int], cause: str = Cause.INGEST) -> int:
    """Mark records stale (idempotent per record); wake a worker when the transaction commits."""
    now = timezone.now()
    rows = [
        PendingWork(kind=kind, object_id=i, token=uuid.uuid4(), cause=cause, enqueued_at=now)
        for i in sorted(set(ids))
    ]
    if not rows:
        return 0
    PendingWork.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["kind", "object_id"],
        # A new token makes a worker that is busy with the old one leave the row in place.
        update_fields=["token", "leased_until"],
        batch_size=1000,
    )
    transaction.on_commit(wake_worker)
    return len(rows)


def wake_worker() -> None:
    """Send one processing task; a broker failure is logged, the sweeper will send it later."""
    from mqa.tasks import pipeline_process as pipeline_process_task

    try:
        pipeline_process_task.delay()
    except Exception:
        # The data is committed; a failure here only delays scoring (the sweeper retries).
        logger.exception(
            "could not run or send the scoring task; pending work waits for the sweeper"
        )


def _claimable(now: datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lt=now)


def work_claim(*, limit: int, now: datetime) -> list[Claimed]:
    """Lease up to `limit` claimable rows, oldest first — new data before time refreshes.

    Skips rows other workers lock. Work caused by ingest goes first so that a large time
    refresh (decay of every engaged contact) never delays what was just ingested.
    """
    lease = now + timedelta(seconds=settings.MQA_WORK_LEASE_SECONDS)
    rows: list[tuple[Any, ...]] = []
    with transaction.atomic():
        for urgent in (True, False):
            by_cause = Q(cause=Cause.INGEST) if urgent else ~Q(cause=Cause.INGEST)
            rows += list(
                PendingWork.objects.filter(_claimable(now), by_cause)
                .order_by("enqueued_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("id", "kind", "object_id", "token", "cause")[: limit - len(rows)]
            )
            if len(rows) >= limit:
                break
        PendingWork.objects.filter(id__in=[row[0] for row in rows]).update(leased_until=lease)
    return [Claimed(kind, object_id, token, cause) for _, kind, object_id, token, cause in rows]


def _untouched(claimed: Iterable[Claimed]) -> Q:
    """The claimed rows that nobody marked stale again since the claim (same token)."""
    condition = Q(pk__in=[])
    for item in claimed:
        condition |= Q(kind=item.kind, object_id=item.object_id, token=item.token)
    return condition


def work_release(*, claimed: Iterable[Claimed]) -> None:
    """Delete finished rows, but only where nobody touched them since they were claimed."""
    PendingWork.objects.filter(_untouched(claimed)).delete()


def work_unlease(*, claimed: Iterable[Claimed]) -> None:
    """Make claimed rows claimable again at once, after a failed attempt."""
    PendingWork.objects.filter(_untouched(claimed)).update(leased_until=None)


def _process_batch(claimed: list[Claimed], now: datetime) -> None:
    """Rescore a claimed batch and release it, in one transaction."""
    from mqa.selectors import scoring_model_active
    from mqa.services.scoring import scores_recompute

    active = scoring_model_active()
    with transaction.atomic():
        if active is not None:
            # One pass (contacts, then accounts) keeps a single lock order across workers.
            causes = {c.cause for c in claimed}
            scores_recompute(
                contact_ids=[c.object_id for c in claimed if c.kind == CONTACT],
                account_ids=[c.object_id for c in claimed if c.kind == ACCOUNT],
                active=active,
                now=now,
                cause=Cause.INGEST if Cause.INGEST in causes else causes.pop(),
            )
        # Without an active model there is nothing to compute: publishing rescores all.
        work_release(claimed=claimed)


def pipeline_process(*, now: datetime | None = None, max_batches: int | None = None) -> int:
    """Drain pending work in leased batches; returns how many records were rescored."""
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        moment = now or timezone.now()
        claimed = work_claim(limit=settings.MQA_BATCH_SIZE, now=moment)
        if not claimed:
            break
        batches += 1
        try:
            race_retried(partial(_process_batch, claimed, moment))
        except Exception:
            # Hand the batch back at once rather than after the lease: the task is retried
            # (a transient failure) and the sweeper wakes workers for what waits.
            work_unlease(claimed=claimed)
            raise
        done += len(claimed)
    return done


def pipeline_sweep(*, now: datetime | None = None) -> bool:
    """Re-send wake-ups for waiting work and due webhooks; resume stalled rescores."""
    from mqa.services.rescore import rescore_runs_resume_stalled
    from mqa.services.webhooks import wake_webhook_sender, webhook_deliveries_due

    now = now or timezone.now()
    waiting = PendingWork.objects.filter(_claimable(now)).exists()
    if waiting:
        wake_worker()
    if webhook_deliveries_due(now=now):
        wake_webhook_sender()
    rescore_runs_resume_stalled(now=now)
    return waiting
