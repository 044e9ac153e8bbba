"""What `/readyz` checks: PostgreSQL, Redis, a worker heartbeat younger than
`MQA_HEARTBEAT_MAX_AGE_SECONDS`, and pending work younger than `MQA_READY_MAX_LAG_SECONDS`.

The heartbeat is a task that beat sends every `MQA_HEARTBEAT_SECONDS` and a worker runs: a
fresh one says that beat, the broker and at least one worker all work. Without `REDIS_URL`
(the embedded quickstart) tasks run in-process, so there is no broker or worker to check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from mqa.models import Checkpoint
from mqa.selectors import pipeline_status_get

HEARTBEAT = "worker_heartbeat"
IN_PROCESS = {"ok": True, "mode": "in-process"}


def worker_heartbeat_record(*, now: datetime | None = None) -> None:
    Checkpoint.objects.update_or_create(name=HEARTBEAT, defaults={"at": now or timezone.now()})


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return {"ok": False, "error": str(error).strip()[:200]}
    return {"ok": True}


def _redis() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return IN_PROCESS
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        return {"ok": False, "error": str(error)[:200]}
    finally:
        client.close()
    return {"ok": True}


def _worker(now: datetime) -> dict[str, Any]:
    if not settings.REDIS_URL:
        return IN_PROCESS
    at = Checkpoint.objects.filter(name=HEARTBEAT).values_list("at", flat=True).first()
    if at is None:
        return {"ok": False, "error": "no worker heartbeat yet"}
    age = round((now - at).total_seconds(), 3)
    return {"ok": age <= settings.MQA_HEARTBEAT_MAX_AGE_SECONDS, "heartbeat_age_seconds": age}


def _pipeline(now: datetime) -> dict[str, Any]:
    status = pipeline_status_get(now=now)
    lag = status["oldest_pending_seconds"]
    return {
        "ok": lag <= settings.MQA_READY_MAX_LAG_SECONDS,
        "pending": status["pending"],
        "oldest_pending_seconds": lag,
    }


def readiness_get(*, now: datetime | None = None) -> dict[str, Any]:
    """Every check with its figures, `ready`, and `down`: the names of those that failed."""
    now = now or timezone.now()
    checks = {"database": _database(), "redis": _redis()}
    if checks["database"]["ok"]:
        checks |= {"worker": _worker(now), "pipeline": _pipeline(now)}
    else:
        unknown = {"ok": False, "error": "the database is unreachable"}
        checks |= {"worker": unknown, "pipeline": unknown}
    down = [name for name, check in checks.items() if not check["ok"]]
    return {"ready": not down, "down": down, "checks": checks}
