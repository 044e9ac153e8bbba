"""The embedded quickstart's stand-in for Celery beat and workers (`manage.py run_scheduler`,
started by `make demo`): it runs the periodic tasks of `CELERY_BEAT_SCHEDULE` in its own
process at their intervals — the sweeper (which also sends due webhook deliveries), SLA
checks, time refresh, heartbeat — and every rescore that is running, so that SLAs are marked
and webhooks retried with no other traffic, and a publish does not make its request wait."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.conf import settings

from mqa.models import RescoreRun

logger = logging.getLogger(__name__)


def _run(task: str, *args: Any) -> None:
    try:
        current_app.tasks[task].apply(args=args, throw=True)
    except Exception:
        # One failing task must not stop the others: log it and try again next time.
        logger.exception("scheduled task %s failed", task)


def scheduler_tick(
    *, now: float, last: dict[str, float], run: Callable[..., None] = _run
) -> list[str]:
    """Run what is due at `now` (seconds, monotonic); `last` keeps when each entry last ran.
    Returns what ran, in order."""
    ran: list[str] = []
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    for name, entry in schedule.items():
        if now - last.get(name, -math.inf) >= float(entry["schedule"]):
            last[name] = now
            run(entry["task"])
            ran.append(entry["task"])
    for run_id in RescoreRun.objects.filter(state=RescoreRun.State.RUNNING).values_list(
        "id", flat=True
    ):
        run("mqa.tasks.rescore_run_advance", run_id)
        ran.append(f"mqa.tasks.rescore_run_advance[{run_id}]")
    return ran
