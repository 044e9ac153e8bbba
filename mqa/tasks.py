"""Celery tasks: thin wrappers that take ids, call one service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

TRANSIENT = (OperationalError,)
RESCORE_BUDGET_SECONDS = 20.0


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def pipeline_process() -> int:
    from mqa.services.pipeline import pipeline_process as process

    return process()


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def pipeline_sweep() -> bool:
    from mqa.services.pipeline import pipeline_sweep as sweep

    return sweep()


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def rescore_run_advance(run_id: int) -> bool:
    from mqa.services.rescore import rescore_run_advance as advance

    # In-process (eager) mode finishes in one call; a worker hands over every few seconds
    # so other work interleaves and a lost worker costs at most one chunk.
    budget = None if rescore_run_advance.app.conf.task_always_eager else RESCORE_BUDGET_SECONDS
    finished = advance(run_id=run_id, budget_seconds=budget)
    if not finished:
        rescore_run_advance.delay(run_id)
    return finished


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def scores_refresh_for_time() -> int | None:
    """Start a rescore run for what time passing changed; its id, or None if none was due."""
    from mqa.services.rescore import scores_refresh_for_time as refresh

    run = refresh()
    return run.id if run else None


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def webhooks_deliver() -> int:
    from mqa.services.webhooks import webhooks_deliver as deliver

    return deliver()


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def handoffs_mark_breached() -> int:
    """The SLA watch: handoffs due soon are announced, those past due flagged."""
    from mqa.services.handoffs import handoff_slas_watch

    return handoff_slas_watch()


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def worker_heartbeat() -> None:
    from mqa.ops.checks import worker_heartbeat_record

    worker_heartbeat_record()
