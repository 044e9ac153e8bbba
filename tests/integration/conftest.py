"""Real Celery workers over Redis against the test PostgreSQL database.

The worker processes see what the tests commit, so these tests use transactional
databases. They are skipped on SQLite and when no Redis is configured — unless
`MQA_REQUIRE_SERVICES=1` (set by `make test`), when a missing service is a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
import redis
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
REDIS_TEST_DB = 15


def _require(reason: str) -> None:
    if os.environ.get("MQA_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def redis_url() -> str:
    base = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if not base:
        _require("no TEST_REDIS_URL / REDIS_URL")
    url = (
        base.rsplit("/", 1)[0] + f"/{REDIS_TEST_DB}"
        if base.count("/") >= 3
        else f"{base}/{REDIS_TEST_DB}"
    )
    client = redis.Redis.from_url(url)
    client.flushdb()
    return url


@pytest.fixture
def database_url(transactional_db: None) -> str:
    if connection.vendor != "postgresql":
        _require("needs PostgreSQL")
    s = connection.settings_dict
    auth = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    host = quote(s["HOST"] or "", safe="")
    return f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


def use_broker(url: str, *, eager: bool = False) -> None:
    """Re-point this process's Celery app, dropping connections it pooled for the old broker."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()
    app.conf.broker_url, app.conf.task_always_eager = url, eager


@pytest.fixture
def broker(redis_url: str) -> Iterator[str]:
    """Point this process's Celery app at Redis, as a deployed web process would be."""
    saved = (app.conf.broker_url, app.conf.task_always_eager)
    use_broker(redis_url)
    yield redis_url
    use_broker(saved[0], eager=saved[1])


class Processes:
    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp, self.started = env, tmp, []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{args[0]}-{len(self.started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel=WARNING"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append(process)
        return process

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(
            "worker", "--pool=solo", "--without-gossip", "--without-mingle", "-n", f"{name}@%h"
        )

    def beat(self) -> subprocess.Popen[bytes]:
        return self.start("beat", "--schedule", str(self.tmp / "beat-schedule"))

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.tmp.glob("*.log"))
        )


@pytest.fixture
def celery_processes(broker: str, database_url: str, tmp_path: Path) -> Iterator[Processes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": broker,
        "DJANGO_SECRET_KEY": "integration-test",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MQA_BATCH_SIZE": "10",
        "MQA_WORK_LEASE_SECONDS": "3",
        "MQA_SWEEP_SECONDS": "1",
        "DATABASE_CONN_MAX_AGE": "0",
        "MQA_WEBHOOKS_ALLOW_PRIVATE": "true",
        "MQA_WEBHOOK_BACKOFF_SECONDS": "0.3",
    }
    processes = Processes(env, tmp_path)
    yield processes
    processes.stop_all()


def wait_for(
    check: Callable[[], bool], *, seconds: float, what: str, logs: Callable[[], str]
) -> float:
    """Poll `check` until it holds; fail after `seconds`. Returns the time it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            pytest.fail(f"{what} did not happen within {seconds} s\n{logs()}")
        time.sleep(0.02)
    return time.monotonic() - started
