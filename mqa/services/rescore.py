"""Rescoring everything (after a publish) and what time passing changes (SPEC §4, §5).

A rescore run walks contacts, then accounts, by primary key in chunks: memory stays bounded,
progress is stored on the run, and a worker that dies mid-run is replaced by the sweeper,
which resumes from the stored cursor. Each chunk commits with the cursor that follows it.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, AccountSignal
from contacts.models import Contact, EngagementEvent
from mqa.models import Cause, Checkpoint, RescoreRun
from mqa.scoring.types import ActivityRule
from mqa.selectors import ActiveModel, scoring_model_active
from mqa.services.bulk import account_scores_bulk, contact_scores_bulk
from mqa.services.pipeline import ACCOUNT, CONTACT, work_add
from mqa.services.scoring import account_scores_recompute, contact_scores_recompute

TIME_REFRESH = "time_refresh"


def _rescore_ids(
    phase: str, ids: list[int], lo: int, active: ActiveModel, run: RescoreRun, now: datetime
) -> None:
    """Rescore one chunk: set-based on PostgreSQL, record by record elsewhere."""
    if not ids:
        return
    bulk = connection.vendor == "postgresql"
    if phase == RescoreRun.Phase.CONTACTS:
        if bulk:
            contact_scores_bulk(
                lo=lo, hi=ids[-1], active=active, now=now, cause=Cause.PUBLISH, route=run.route
            )
        else:
            contact_scores_recompute(
                contact_ids=ids, active=active, now=now, cause=Cause.PUBLISH, route=run.route
            )
    elif bulk:
        account_scores_bulk(
            lo=lo, hi=ids[-1], active=active, now=now, cause=Cause.PUBLISH, route=run.route
        )
    else:
        account_scores_recompute(
            account_ids=ids, active=active, now=now, cause=Cause.PUBLISH, route=run.route
        )


def _rescore_chunk(run_id: int) -> bool:
    """Advance the run by one chunk; returns True when the run is over."""
    chunk = (
        settings.MQA_BULK_CHUNK if connection.vendor == "postgresql" else settings.MQA_RESCORE_CHUNK
    )
    with transaction.atomic():
        run = RescoreRun.objects.select_for_update().get(pk=run_id)
        if run.state != RescoreRun.State.RUNNING:
            return True
        now = timezone.now()
        active = scoring_model_active()
        if active is None or active.id != run.model_version_id:
            run.state, run.finished_at = RescoreRun.State.SUPERSEDED, now
            run.save(update_fields=["state", "finished_at"])
            return True
        table = Contact if run.phase == RescoreRun.Phase.CONTACTS else Account
        ids = list(
            table.objects.filter(pk__gt=run.cursor)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        _rescore_ids(run.phase, ids, run.cursor, active, run, now)
        if ids:
            run.cursor, run.done = ids[-1], run.done + len(ids)
        elif run.phase == RescoreRun.Phase.CONTACTS:
            run.phase, run.cursor = RescoreRun.Phase.ACCOUNTS, 0
        else:
            run.state, run.finished_at, run.total = RescoreRun.State.DONE, now, run.done
        run.heartbeat_at = now
        run.save()
        return run.state != RescoreRun.State.RUNNING


def rescore_run_advance(*, run_id: int, budget_seconds: float | None = None) -> bool:
    """Work on a run until it ends or the time budget is spent; returns True when it ended."""
    started = time.monotonic()
    while not _rescore_chunk(run_id):
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            return False
    return True


def rescore_runs_resume_stalled(*, now: datetime) -> list[int]:
    """Re-send runs whose worker has gone quiet for longer than a lease."""
    from mqa.tasks import rescore_run_advance as rescore_run_advance_task

    quiet = now - timedelta(seconds=settings.MQA_WORK_LEASE_SECONDS)
    stalled = list(
        RescoreRun.objects.filter(
            state=RescoreRun.State.RUNNING, heartbeat_at__lt=quiet
        ).values_list("id", flat=True)
    )
    for run_id in stalled:
        rescore_run_advance_task.delay(run_id)
    return stalled


def _time_sensitive(rules: tuple[ActivityRule, ...], since: datetime, now: datetime) -> Q:
    """Activities whose contribution changed between `since` and `now`."""
    condition = Q(pk__in=[])
    for rule in rules:
        window = timedelta(days=rule.window_days) if rule.window_days is not None else None
        if rule.half_life_days is not None:  # decays: everything still inside the window
            inside = Q(occurred_at__gte=since - window) if window else Q()
            condition |= Q(type=rule.type) & inside
        elif window is not None:  # expires: what crossed the window's edge since last time
            condition |= Q(
                type=rule.type, occurred_at__gte=since - window, occurred_at__lt=now - window
            )
    return condition


def scores_refresh_for_time(*, now: datetime | None = None) -> tuple[int, int]:
    """Mark stale what window expiry and decay changed since the previous refresh (SPEC §4).

    The previous refresh time is stored, so a beat that was down for a while catches up.
    """
    active = scoring_model_active()
    if active is None:
        return 0, 0
    now = now or timezone.now()
    first_since = now - timedelta(seconds=2 * settings.MQA_TIME_REFRESH_SECONDS)
    with transaction.atomic():
        checkpoint, _ = Checkpoint.objects.select_for_update().get_or_create(
            name=TIME_REFRESH, defaults={"at": first_since}
        )
        since = min(checkpoint.at, now)
        contact_ids = EngagementEvent.objects.filter(
            _time_sensitive(active.model.contact.engagement_rules, since, now)
        ).values_list("contact_id", flat=True)
        account_ids = AccountSignal.objects.filter(
            _time_sensitive(active.model.account.signal_rules, since, now)
        ).values_list("account_id", flat=True)
        contacts = work_add(kind=CONTACT, ids=contact_ids.distinct(), cause=Cause.TIME)
        accounts = work_add(kind=ACCOUNT, ids=account_ids.distinct(), cause=Cause.TIME)
        checkpoint.at = now
        checkpoint.save(update_fields=["at"])
    return contacts, accounts
