"""`/healthz` and `/readyz`: what each check reports, and 503 naming what is down."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from mqa.models import Checkpoint, PendingWork
from mqa.ops.checks import HEARTBEAT, readiness_get, worker_heartbeat_record

pytestmark = pytest.mark.django_db
NOBODY_LISTENS = "redis://127.0.0.1:1/0"


def test_healthz_answers_without_checking_anything(settings):
    settings.REDIS_URL = NOBODY_LISTENS

    response = Client().get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_the_embedded_quickstart_is_ready_with_tasks_in_process(settings):
    settings.REDIS_URL = None

    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "down": [],
        "checks": {
            "database": {"ok": True},
            "redis": {"ok": True, "mode": "in-process"},
            "worker": {"ok": True, "mode": "in-process"},
            "pipeline": {"ok": True, "pending": 0, "oldest_pending_seconds": 0.0},
        },
    }


def test_a_broker_that_is_down_and_no_worker_heartbeat_make_it_unready(settings):
    settings.REDIS_URL = NOBODY_LISTENS

    response = Client().get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["redis", "worker"]
    assert body["checks"]["worker"] == {"ok": False, "error": "no worker heartbeat yet"}
    assert body["checks"]["redis"]["ok"] is False


def test_a_fresh_heartbeat_and_a_reachable_broker_are_ready(settings):
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("no TEST_REDIS_URL")
    settings.REDIS_URL = url
    now = timezone.now()
    worker_heartbeat_record(now=now - timedelta(seconds=10))

    readiness = readiness_get(now=now)

    assert (readiness["ready"], readiness["down"]) == (True, [])
    assert readiness["checks"]["worker"] == {"ok": True, "heartbeat_age_seconds": 10.0}


def test_a_stale_heartbeat_names_the_worker(settings):
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("no TEST_REDIS_URL")
    settings.REDIS_URL, settings.MQA_HEARTBEAT_MAX_AGE_SECONDS = url, 60
    now = timezone.now()
    Checkpoint.objects.create(name=HEARTBEAT, at=now - timedelta(seconds=61))

    readiness = readiness_get(now=now)

    assert readiness["down"] == ["worker"]
    assert readiness["checks"]["worker"] == {"ok": False, "heartbeat_age_seconds": 61.0}


def test_pending_work_older_than_the_lag_limit_names_the_pipeline(settings):
    settings.REDIS_URL, settings.MQA_READY_MAX_LAG_SECONDS = None, 300
    now = timezone.now()
    PendingWork.objects.create(
        kind="contact", object_id=1, enqueued_at=now - timedelta(seconds=301)
    )

    readiness = readiness_get(now=now)

    assert readiness["down"] == ["pipeline"]
    assert readiness["checks"]["pipeline"] == {
        "ok": False,
        "pending": 1,
        "oldest_pending_seconds": 301.0,
    }
