"""The durable work queue between ingest and scoring (SPEC §5).

Ingest calls `work_add` inside its own transaction, so accepted data and the record of the
work it causes commit together; the Celery task is only a wake-up call sent after commit.
A lost wake-up (broker down, worker killed) delays scoring but loses nothing: the sweeper
re-sends it while claimable work is waiting. Workers lease rows for `MQA_WORK_LEASE_SECONDS`
and a heartbeat renews the lease while the batch runs, so a killed worker's rows come back
within a lease plus a sweep, and a slow batch is never handed out twice.

Ingest marks rows in key order and holds them to its commit; the drain's writes to rows it
claimed (renew, release) skip the rows ingest holds rather than wait for them, so the two never
wait on each other in a circle (a deadlock). A row skipped so is being marked stale again.

Store layer: imports models and the task seam only. Ingest writes here; the drain
(`mqa.services.pipeline`) claims and releases here; nothing here knows how work is done.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from mqa import dispatch
from mqa.models import Cause, PendingWork, RecordKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    kind: RecordKind
    object_id: int
    token: uuid.UUID
    cause: str


def work_add(*, kind: RecordKind, ids: Iterable[int], cause: str = Cause.INGEST) -> int:
    """Mark records stale (idempotent per record); wake a worker when the transaction commits."""
    now, keys = timezone.now(), sorted(set(ids))
    if not keys:
        return 0
    # A new token makes a worker that is busy with the old one leave the row in place; one
    # token per call is enough, as it differs from every token a worker holds. New data makes
    # a record already marked by a time refresh ingest work (claimed first, `work_claim`): at
    # scale a refresh marks most engaged contacts, and their new events must not wait behind
    # it; a refresh never turns ingest work back into its own.
    token = uuid.uuid4()
    if connection.vendor == "postgresql":
        # One statement over an array, no model instances: ingest calls this per batch.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO mqa_pendingwork AS w (kind, object_id, token, cause, enqueued_at)"
                " SELECT %s, id, %s, %s, %s FROM unnest(%s::bigint[]) AS id ORDER BY id"
                " ON CONFLICT (kind, object_id)"
                " DO UPDATE SET token = EXCLUDED.token, leased_until = NULL, cause = CASE"
                " WHEN EXCLUDED.cause = %s THEN EXCLUDED.cause ELSE w.cause END",
                [kind, token, cause, now, keys, Cause.INGEST],
            )
    else:
        PendingWork.objects.bulk_create(
            [
                PendingWork(kind=kind, object_id=i, token=token, cause=cause, enqueued_at=now)
                for i in keys
            ],
            update_conflicts=True,
            unique_fields=["kind", "object_id"],
            update_fields=["token", "leased_until"],
            batch_size=1000,
        )
        if cause == Cause.INGEST:
            PendingWork.objects.filter(kind=kind, object_id__in=keys).update(cause=cause)
    transaction.on_commit(wake_worker)
    return len(keys)


def work_drop(*, kind: RecordKind, ids: Iterable[int]) -> None:
    """Forget pending work of records that no longer exist (an erasure)."""
    PendingWork.objects.filter(kind=kind, object_id__in=list(ids)).delete()


def wake_worker() -> None:
    """Send one processing task; a broker failure is logged, the sweeper will send it later."""
    try:
        dispatch.send("pipeline_process")
    except Exception:
        # The data is committed; a failure here only delays scoring (the sweeper retries).
        logger.exception(
            "could not run or send the scoring task; pending work waits for the sweeper"
        )


def _claimable(now: datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lt=now)


def work_waiting(*, now: datetime) -> bool:
    """Whether any work can be claimed now (none leased to a live worker)."""
    return PendingWork.objects.filter(_claimable(now)).exists()


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
        PendingWork.objects.filter(id__any=[row[0] for row in rows]).update(leased_until=lease)
    return [
        Claimed(RecordKind(kind), object_id, token, cause)
        for _, kind, object_id, token, cause in rows
    ]


def _untouched(claimed: Iterable[Claimed]) -> Q:
    """The claimed rows that nobody marked stale again since the claim (same token)."""
    condition = Q(pk__in=[])
    for item in claimed:
        condition |= Q(kind=item.kind, object_id=item.object_id, token=item.token)
    return condition


def _untouched_free(claimed: Iterable[Claimed]) -> list[int]:
    """Ids of the claimed rows nobody re-marked and nobody holds now, locked for this
    transaction; a row ingest holds is skipped, never waited for (see the module docstring)."""
    if connection.vendor == "postgresql":
        # The same condition as `_untouched`, as three arrays: a thousand-way OR costs the
        # worker more to build and compile than the query costs to run.
        items = list(claimed)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM mqa_pendingwork WHERE (kind, object_id, token) IN"
                " (SELECT * FROM unnest(%s::varchar[], %s::bigint[], %s::uuid[]))"
                " ORDER BY id FOR UPDATE SKIP LOCKED",
                [
                    [str(item.kind) for item in items],
                    [item.object_id for item in items],
                    [item.token for item in items],
                ],
            )
            return [row[0] for row in cursor.fetchall()]
    return list(
        PendingWork.objects.filter(_untouched(claimed))
        .order_by("id")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)
    )


def work_release(*, claimed: Iterable[Claimed]) -> None:
    """Delete finished rows, but only where nobody touched them since they were claimed."""
    with transaction.atomic():
        PendingWork.objects.filter(id__in=_untouched_free(claimed)).delete()


def work_renew(*, claimed: Iterable[Claimed], now: datetime) -> int:
    """Extend the lease of claimed rows still ours by a lease from `now`; how many."""
    lease = now + timedelta(seconds=settings.MQA_WORK_LEASE_SECONDS)
    with transaction.atomic():
        return PendingWork.objects.filter(id__in=_untouched_free(claimed)).update(
            leased_until=lease
        )


@contextmanager
def work_lease_kept(claimed: list[Claimed]) -> Iterator[None]:
    """Renew the lease of `claimed` every third of a lease while the block runs.

    The heartbeat is a thread with its own connection, so its renewals commit while the
    batch's transaction is open. PostgreSQL only: SQLite has one writer at a time (the batch),
    so a renewal could only wait for the batch to end.
    """
    if connection.vendor != "postgresql" or not claimed:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.MQA_WORK_LEASE_SECONDS / 3):
                try:
                    work_renew(claimed=claimed, now=timezone.now())
                except DatabaseError:  # the next beat tries again; the lease may lapse
                    logger.warning("could not renew a work lease", exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    heartbeat = threading.Thread(target=beat, name="work-lease-heartbeat", daemon=True)
    heartbeat.start()
    try:
        yield
    finally:
        stop.set()
        heartbeat.join()


def work_unlease(*, claimed: Iterable[Claimed]) -> None:
    """Make claimed rows claimable again at once, after a failed attempt."""
    with transaction.atomic():
        PendingWork.objects.filter(id__in=_untouched_free(claimed)).update(leased_until=None)
