"""Rescoring everything: after a publish, and for what time passing changes (SPEC §4, §5).

A rescore run (cause `publish`, or `time` for the periodic refresh) is cut into chunks of
contacts, then of accounts, by primary-key range (`RescoreChunk`), so memory stays bounded
and several workers share the run: each worker process runs a *lane* that claims the next
pending chunk of the current phase with `FOR UPDATE SKIP LOCKED`, scores it and marks it
done in the same transaction. The row lock is the claim: a chunk another lane is working on
is skipped, however slow, and a lane whose worker dies loses its lock with its connection, so
the chunk is claimed again — done once, never lost. Finishing takes the run's row lock, so
finishers are serialised: the one that leaves no pending contact chunk moves the run to the
account phase (accounts roll up stored contact scores, so they wait for every contact) and
wakes the other lanes; the last account chunk ends the run. The sweeper re-sends lanes for a
run without progress for a lease.

Orchestration layer: imports the steps (scores, announce); lanes are sent through
`mqa.dispatch`.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from enum import Enum
from itertools import pairwise

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from contacts.models import Contact
from mqa import dispatch
from mqa.models import Cause, RecordKind, RescoreChunk, RescoreRun, ScoringModelVersion
from mqa.scoring.segments import engagement_rules, signal_rules
from mqa.selectors import ActiveModel, scoring_model_active
from mqa.services.announce import transitions_announce
from mqa.services.scores import scores_recompute_range, store_in_use

LAST_ID = 2**63 - 1  # the last chunk of a phase is open-ended: records created meanwhile count
CHUNKS_PER_LANE = 4
MIN_CHUNK = 1_000


class Step(Enum):
    WORKED = "worked"  # scored one chunk
    IDLE = "idle"  # nothing to claim: the pending chunks are being worked on by other lanes
    OVER = "over"  # the run is done or superseded


def _chunk_rescore(chunk: RescoreChunk, active: ActiveModel, run: RescoreRun, now: datetime) -> int:
    """Rescore one chunk and announce its changes; returns how many records it covered."""
    contacts = chunk.phase == RescoreRun.Phase.CONTACTS
    table = Contact if contacts else Account
    count = table.objects.filter(pk__gt=chunk.lo, pk__lte=chunk.hi).count()
    if count:
        transitions = scores_recompute_range(
            kind=RecordKind.CONTACT if contacts else RecordKind.ACCOUNT,
            lo=chunk.lo,
            hi=chunk.hi,
            active=active,
            now=now,
            cause=run.cause,
        )
        transitions_announce(transitions=transitions, active=active, route=run.route, now=now)
    return count


def _chunk_size(phase: str, count: int, cause: str) -> int:
    """Records per chunk: a few chunks per lane, so the lanes stay busy to the end, but not
    more — every chunk of a phase reads most pages of the activity table (one record's
    events are spread over it) — and at most the configured size, which bounds memory. A
    time refresh's chunks are smaller: the incremental pipeline waits for their rows."""
    if not store_in_use().set_based:
        return int(settings.MQA_RESCORE_CHUNK)
    largest = (
        settings.MQA_BULK_ACCOUNT_CHUNK
        if phase == RescoreRun.Phase.ACCOUNTS
        else settings.MQA_BULK_CHUNK
    )
    if cause == Cause.TIME:
        largest = min(largest, settings.MQA_TIME_REFRESH_CHUNK)
    lanes = max(1, int(settings.MQA_RESCORE_LANES))
    return int(min(largest, max(MIN_CHUNK, -(-count // (lanes * CHUNKS_PER_LANE)))))


def _boundaries(table: str, size: int) -> list[int]:
    """Every `size`-th id of a table, short of the last one: the chunks' upper bounds."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n,
                                       count(*) OVER () AS total FROM {table}) t
                WHERE n %% %s = 0 AND n < total ORDER BY id""",
            [size],
        )
        return [row[0] for row in cursor.fetchall()]


def _chunks_plan(run_id: int) -> None:
    """Cut the run into chunks, once (the first lane to lock the run does it)."""
    with transaction.atomic():
        run = RescoreRun.objects.select_for_update().get(pk=run_id)
        if run.state != RescoreRun.State.RUNNING or run.chunks.exists():
            return
        chunks = []
        for phase, model in (
            (RescoreRun.Phase.CONTACTS, Contact),
            (RescoreRun.Phase.ACCOUNTS, Account),
        ):
            size = _chunk_size(phase, model.objects.count(), run.cause)
            bounds = [0, *_boundaries(model._meta.db_table, size), LAST_ID]
            chunks += [
                RescoreChunk(run=run, phase=phase, lo=lo, hi=hi) for lo, hi in pairwise(bounds)
            ]
        RescoreChunk.objects.bulk_create(chunks)


def _run_supersede_if_inactive(run: RescoreRun, now: datetime) -> ActiveModel | None:
    active = scoring_model_active()
    if active is None or active.id != run.model_version_id:
        RescoreRun.objects.filter(pk=run.pk, state=RescoreRun.State.RUNNING).update(
            state=RescoreRun.State.SUPERSEDED, finished_at=now
        )
        return None
    return active


def _rescore_step(run_id: int) -> Step:
    """Claim one pending chunk of the run's current phase, score it and mark it done."""
    run = RescoreRun.objects.get(pk=run_id)
    if run.state != RescoreRun.State.RUNNING:
        return Step.OVER
    if not run.chunks.exists():
        _chunks_plan(run_id)
    phase = run.phase
    # Progress for the sweeper: a lane at work, even on one long chunk, is not stalled.
    RescoreRun.objects.filter(pk=run_id, state=RescoreRun.State.RUNNING).update(
        heartbeat_at=timezone.now()
    )
    with transaction.atomic():
        now = timezone.now()
        active = _run_supersede_if_inactive(run, now)
        if active is None:
            return Step.OVER
        chunk = (
            RescoreChunk.objects.select_for_update(skip_locked=True)
            .filter(run_id=run_id, phase=phase, state=RescoreChunk.State.PENDING)
            .order_by("lo")
            .first()
        )
        if chunk is None:
            run.refresh_from_db(fields=["phase", "state"])
            if run.state != RescoreRun.State.RUNNING:
                return Step.OVER
            # The phase moved on since this lane read it: claim from the next one.
            return Step.WORKED if run.phase != phase else Step.IDLE
        count = _chunk_rescore(chunk, active, run, now)
        _chunk_finish(run_id, chunk, count, timezone.now())
    return Step.WORKED


def _chunk_finish(run_id: int, chunk: RescoreChunk, count: int, now: datetime) -> None:
    """Mark a chunk done, count its records, and move the run on if it was the last one.

    Under the run's row lock, so that of two lanes finishing together, the second sees the
    first's chunk done and exactly one of them moves the run on.
    """
    run = RescoreRun.objects.select_for_update().get(pk=run_id)
    RescoreChunk.objects.filter(pk=chunk.pk).update(state=RescoreChunk.State.DONE, finished_at=now)
    changes = {"done": F("done") + count, "heartbeat_at": now}
    left = RescoreChunk.objects.filter(
        run_id=run_id, phase=chunk.phase, state=RescoreChunk.State.PENDING
    )
    if run.state == RescoreRun.State.RUNNING and not left.exists():
        if chunk.phase == RescoreRun.Phase.CONTACTS:
            changes["phase"] = RescoreRun.Phase.ACCOUNTS
            # This lane goes on with the accounts; wake the others for them.
            lanes = int(settings.MQA_RESCORE_LANES) - 1
            transaction.on_commit(lambda: rescore_lanes_send(run_id=run_id, lanes=lanes))
        else:
            changes |= {
                "state": RescoreRun.State.DONE,
                "finished_at": now,
                "total": F("done") + count,
            }
    RescoreRun.objects.filter(pk=run_id).update(**changes)


def rescore_run_advance(*, run_id: int, budget_seconds: float | None = None) -> bool:
    """Work as one lane of a run until nothing is left to claim or the time budget is spent;
    returns True when this lane has nothing more to do (the run is over, or the chunks left
    are other lanes'), False when it stopped for the budget."""
    started = time.monotonic()
    while _rescore_step(run_id) is Step.WORKED:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            return False
    return True


def rescore_lanes_send(*, run_id: int, lanes: int | None = None) -> None:
    """Start `lanes` workers (default `MQA_RESCORE_LANES`) on a run; extra ones find nothing
    to claim and stop. In embedded mode the scheduler process runs it instead."""
    if settings.MQA_RESCORE_IN_SCHEDULER:
        return
    for _ in range(settings.MQA_RESCORE_LANES if lanes is None else lanes):
        dispatch.send("rescore_run_advance", run_id)


def rescore_run_start(
    *, version: ScoringModelVersion, route: bool, cause: str, now: datetime
) -> RescoreRun:
    """Create a run of every contact and account under `version`; its lanes start when the
    caller's transaction commits."""
    run = RescoreRun.objects.create(
        model_version=version,
        route=route,
        cause=cause,
        total=Contact.objects.count() + Account.objects.count(),
        started_at=now,
        heartbeat_at=now,
    )
    transaction.on_commit(lambda: rescore_lanes_send(run_id=run.id))
    return run


def rescore_runs_resume_stalled(*, now: datetime) -> list[int]:
    """Re-send lanes for runs without progress for longer than a lease. A chunk that is merely
    slow stays locked by its lane, so the new lanes skip it rather than redo it."""
    quiet = now - timedelta(seconds=settings.MQA_WORK_LEASE_SECONDS)
    stalled = list(
        RescoreRun.objects.filter(
            state=RescoreRun.State.RUNNING, heartbeat_at__lt=quiet
        ).values_list("id", flat=True)
    )
    for run_id in stalled:
        RescoreRun.objects.filter(pk=run_id).update(heartbeat_at=now)
        rescore_lanes_send(run_id=run_id)
    return stalled


def scores_refresh_for_time(*, now: datetime | None = None) -> RescoreRun | None:
    """Take in what window expiry and decay changed (SPEC §4): a rescore run of every contact
    and account under the active model, with cause `time`, routed as new data is.

    A set-based run scores a chunk of records in one statement, and rows that come out as
    stored are not rewritten; finding the few records time changed would itself read the
    windows' events. None when no rule depends on time, or a rescore is running already (a
    publish's takes in the same changes; a time run still going will finish them).
    """
    active = scoring_model_active()
    if active is None or not any(
        rule.window_days is not None or rule.half_life_days is not None
        for rule in (*engagement_rules(active.model), *signal_rules(active.model))
    ):
        return None
    now = now or timezone.now()
    with transaction.atomic():
        # The active version's row lock serialises this with a publish and with itself.
        version = ScoringModelVersion.objects.select_for_update().get(pk=active.id)
        running = RescoreRun.objects.filter(state=RescoreRun.State.RUNNING).exists()
        if version.state != ScoringModelVersion.State.ACTIVE or running:
            return None
        return rescore_run_start(version=version, route=True, cause=Cause.TIME, now=now)
