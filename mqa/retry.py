"""Running a transaction again when PostgreSQL aborted it for a concurrent one's sake.

Ground layer: used by the drain (`mqa.services.pipeline`) and the API views alike.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from django.db import DatabaseError, IntegrityError, OperationalError, connection

T = TypeVar("T")

RACE_ATTEMPTS = 3
# What a concurrent transaction can make PostgreSQL abort ours with, whole.
RACES = (psycopg.errors.DeadlockDetected, psycopg.errors.UniqueViolation)
# What PostgreSQL says when it ends a session under a request.
SESSION_ENDED = (
    psycopg.errors.AdminShutdown,
    psycopg.errors.CrashShutdown,
    psycopg.errors.CannotConnectNow,
)


def _lost_race(error: DatabaseError) -> bool:
    return isinstance(error, OperationalError | IntegrityError) and isinstance(
        error.__cause__, RACES
    )


def _lost_connection(error: DatabaseError) -> bool:
    """PostgreSQL ended this session (`pg_terminate_backend`, a restart, a failover) or the
    connection broke: the transaction died with it. Told by the error, not by the connection's
    state: when the rollback of a dead session fails, Django drops the connection and has
    already opened a new one by the time the error leaves the atomic block. psycopg raises a
    broken or refused connection without an SQLSTATE. A new connection may well succeed; a
    database that is down fails again, and its error is raised after the last attempt."""
    cause = error.__cause__
    return isinstance(cause, SESSION_ENDED) or (
        isinstance(cause, psycopg.OperationalError) and cause.sqlstate is None
    )


def race_retried(call: Callable[[], T]) -> T:
    """Run a service again when a concurrent transaction made PostgreSQL abort it.

    Concurrent batches upsert work rows for overlapping records in several statements, so two
    can wait on each other (one is rolled back as a deadlock victim); and two batches can both
    create the same new contact or account (the later insert breaks the unique key). Nothing
    of the aborted transaction was stored, so running it again is safe, and the second time
    it finds the other's rows and updates them. Only outside any atomic block: inside one, the
    caller's transaction is the unit that must be retried.

    The same when PostgreSQL ended the session under a request: it is run once more on a new
    connection. Had the commit itself gone through before the session ended, the second run
    finds its own rows (an ingest answers them as duplicates; nothing is stored twice).
    """
    for attempt in range(1, RACE_ATTEMPTS + 1):
        try:
            return call()
        except DatabaseError as error:
            lost_connection = _lost_connection(error)
            retry = lost_connection or _lost_race(error)
            if not retry or attempt == RACE_ATTEMPTS or connection.in_atomic_block:
                raise
            if lost_connection:
                connection.close()  # the next query opens a new one
            time.sleep(random.uniform(0.005, 0.05) * attempt)  # let the winner commit
    raise AssertionError("unreachable")
