"""Reads of the read endpoints and review pages from a PostgreSQL streaming replica
(`DATABASE_REPLICA_URL`, SPEC §8); everything else on the primary.

Installed by the settings only when a replica is configured: then `ReplicaMiddleware` marks a
GET or HEAD of an API v1 path or a review page as a *replica read* (a context variable, so
each thread and each request has its own), and `ReplicaRouter` sends the reads of such a
request to the `replica` alias. Writes always go to `default`, and so does every read outside
such a request: POSTs and PUTs, the admin, tasks (in a worker or run in-process), management
commands and the scheduler — scoring never reads from the replica.

Who is asking is always read from the primary, even during a replica read: sessions, users
and API keys. A login or a key created a moment ago must work at once, and a revoked key must
not outlive its revocation by the replica's lag.

A replica that cannot be reached does not take the read endpoints down: the middleware makes
sure of the replica's connection before the view runs and, when it cannot connect, serves the
request from the primary, logs a warning and leaves the replica alone for
`RETRY_SECONDS` in this process. A replica that fails in the middle of a request answers that
request 503 (as the primary would). A lagging replica is not detected: its readers see the data
as of its lag (docs/deploy.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.db import DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("mqa.replica")

REPLICA = "replica"
DEFAULT = "default"
READ_METHODS = frozenset({"GET", "HEAD"})
READ_PREFIXES = ("/api/v1/", "/review/")
# Identity, never from the replica (see the module's docstring): by app, and single models.
PRIMARY_APPS = frozenset({"auth", "sessions", "axes", "contenttypes", "admin"})
PRIMARY_MODELS = frozenset({"mqa.apikey"})
RETRY_SECONDS = 10.0

READ_FROM_REPLICA: ContextVar[bool] = ContextVar("read_from_replica", default=False)
# Monotonic time before which this process does not try the replica again; replaced in tests.
clock: Callable[[], float] = time.monotonic
_down_until = 0.0


def is_replica_read(method: str | None, path: str) -> bool:
    """Whether a request may read from the replica: a GET or HEAD of a read path."""
    return method in READ_METHODS and path.startswith(READ_PREFIXES)


class ReplicaRouter:
    """Django's database router: `replica` for reads during a replica read, else `default`."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        if not READ_FROM_REPLICA.get():
            return DEFAULT
        meta = model._meta
        if meta.app_label in PRIMARY_APPS or meta.label_lower in PRIMARY_MODELS:
            return DEFAULT
        return REPLICA

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        # The replica holds the primary's very rows: objects from either may be related.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT


class ReplicaMiddleware:
    """Marks the replica reads (see the module's docstring) for the rest of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not (is_replica_read(request.method, request.path) and replica_available()):
            return self.get_response(request)
        token = READ_FROM_REPLICA.set(True)
        try:
            return self.get_response(request)
        finally:
            READ_FROM_REPLICA.reset(token)


def replica_available() -> bool:
    """Whether this thread has (or can open) a working connection to the replica.

    A connection kept from an earlier request is checked as Django checks it before its first
    query (`conn_health_checks`), so this adds no round trip to a request that reads.
    """
    global _down_until
    if clock() < _down_until:
        return False
    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()
        replica.ensure_connection()
    except DatabaseError as error:
        _down_until = clock() + RETRY_SECONDS
        logger.warning(
            "replica unavailable, reading from the primary for %s s: %s", RETRY_SECONDS, error
        )
        return False
    return True
