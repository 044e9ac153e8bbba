"""The drain: claim work → score → announce → release (SPEC §5).

Workers lease batches of pending records from the work queue (`mqa.services.work_queue`),
rescore contacts then their accounts through the store for the database in use, announce the
status changes (webhooks, routing), and release the rows nobody touched meanwhile — all in
one transaction per batch, while a heartbeat keeps the batch's lease. A batch that fails is handed back at once; one that PostgreSQL
chose as a deadlock victim is run again. The sweeper re-sends wake-ups while work waits and
resumes stalled rescores.

Orchestration layer: imports the steps, the work queue and the rescore runs; only entry points
(tasks, commands) import it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mqa.models import Cause, RecordKind
from mqa.retry import race_retried
from mqa.selectors import scoring_model_active
from mqa.services.announce import transitions_announce
from mqa.services.rescore import rescore_runs_resume_stalled
from mqa.services.scores import scores_recompute
from mqa.services.webhooks import wake_webhook_sender, webhook_deliveries_due
from mqa.services.work_queue import (
    Claimed,
    wake_worker,
    work_claim,
    work_lease_kept,
    work_release,
    work_unlease,
    work_waiting,
)

logger = logging.getLogger(__name__)


def _process_batch(claimed: list[Claimed], now: datetime) -> None:
    """Rescore a claimed batch, announce its changes and release it, in one transaction."""
    active = scoring_model_active()
    with transaction.atomic():
        if active is not None:
            # One pass (contacts, then accounts) keeps a single lock order across workers.
            causes = {c.cause for c in claimed}
            transitions = scores_recompute(
                contact_ids=[c.object_id for c in claimed if c.kind == RecordKind.CONTACT],
                account_ids=[c.object_id for c in claimed if c.kind == RecordKind.ACCOUNT],
                active=active,
                now=now,
                cause=Cause.INGEST if Cause.INGEST in causes else causes.pop(),
            )
            transitions_announce(transitions=transitions, active=active, route=True, now=now)
            logger.info(
                "pipeline batch",
                extra={"batch_size": len(claimed), "transitions": len(transitions)},
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
            with work_lease_kept(claimed):
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
    now = now or timezone.now()
    waiting = work_waiting(now=now)
    if waiting:
        wake_worker()
    if webhook_deliveries_due(now=now):
        wake_webhook_sender()
    rescore_runs_resume_stalled(now=now)
    return waiting
