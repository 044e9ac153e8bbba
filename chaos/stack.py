"""The service under test, on the chaos run's own PostgreSQL and Redis: bench's stack (gunicorn
write and read pools, a 2-process Celery worker, beat) with the environment a fault run needs.

`bench.settings` reads its port when first imported: `chaos.cli` sets `BENCH_PORT` to a free
port before it imports this module.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

from bench.measure import rescore_over_http, wait_drained
from bench.settings import BASE, PORT, ROOT
from bench.stack import UNREACHABLE_LIMITS, Stack, stack_env
from chaos.services import Postgres, Redis, port_free

# What the run changes from the defaults: no request limits (bench's), local webhook targets,
# and webhook timings short enough to watch retries within minutes. A receiver down for D
# seconds spends about log2(D / backoff) attempts; more attempts than the default 10 keep the
# figure about delivery, not the dead-letter limit (the report counts deliveries that needed
# more than 10). The work lease and the sweep keep their defaults: the run measures them.
WEBHOOK_TIMEOUT_SECONDS = 2
WEBHOOK_MAX_ATTEMPTS = 25


def chaos_env(*, webhook_backoff: float) -> dict[str, str]:
    return {
        "MQA_WEBHOOKS_ALLOW_PRIVATE": "true",
        "MQA_WEBHOOK_TIMEOUT_SECONDS": str(WEBHOOK_TIMEOUT_SECONDS),
        "MQA_WEBHOOK_BACKOFF_SECONDS": str(webhook_backoff),
        "MQA_WEBHOOK_MAX_ATTEMPTS": str(WEBHOOK_MAX_ATTEMPTS),
        "LOG_LEVEL": "WARNING",
        # Not checked: with Redis down each request would log that it was not.
        **{name: "none" for name in UNREACHABLE_LIMITS},
    }


class ChaosStack:
    """Own PostgreSQL + Redis, migrated, with an API key and the default model published."""

    def __init__(self, directory: Path, *, short: bool) -> None:
        self.directory, self.short = directory, short
        self.postgres = Postgres(directory / "postgres")
        self.redis = Redis(directory / "redis")
        self.logs = directory / "logs"
        self.webhook_backoff = 0.2 if short else 1.0
        self.base = BASE
        self.key = ""
        self.stack: Stack | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **stack_env(self.postgres.url),
            "REDIS_URL": self.redis.url,
            **chaos_env(webhook_backoff=self.webhook_backoff),
        }

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def start(self) -> None:
        if not all(port_free(p) for p in (PORT, PORT + 1)):
            raise RuntimeError(f"ports {PORT}, {PORT + 1} are taken (BENCH_PORT)")
        self.logs.mkdir(parents=True, exist_ok=True)
        self.postgres.create()
        self.redis.start()
        self.manage("migrate", "--noinput", "--verbosity", "0")
        self.key = (
            self.manage("create_api_key", "chaos", "--scopes", "ingest,read,admin")
            .strip()
            .splitlines()[-1]
        )
        self.stack = Stack(self.postgres.url, self.logs)
        self.stack.env = self.env
        self.stack.start()
        rescore_over_http(self.key)

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
        self.redis.stop()
        self.postgres.destroy()

    def drained(self, *, timeout: float) -> float | None:
        """Seconds until the work queue is empty (`pending` 0), or None past `timeout`."""
        try:
            return wait_drained(self.key, timeout=timeout)
        except RuntimeError:
            return None

    def pending(self) -> list[tuple[Any, ...]]:
        """The pending work by kind, cause and lease: counts, oldest enqueued, latest lease."""
        with self.postgres.connect() as conn:
            return conn.execute(
                "SELECT kind, cause, leased_until IS NOT NULL, count(*), min(enqueued_at),"
                " max(leased_until) FROM mqa_pendingwork GROUP BY 1, 2, 3"
            ).fetchall()

    def worker_children(self) -> list[psutil.Process]:
        assert self.stack is not None
        (worker,) = (p for name, p in self.stack.processes if name == "worker")
        return list(psutil.Process(worker.pid).children(recursive=True))

    def kill_worker_children(self) -> list[int]:
        """kill -9 the worker's pool processes (the ones running tasks); Celery forks new ones."""
        killed = []
        for child in self.worker_children():
            try:
                child.send_signal(signal.SIGKILL)
                killed.append(child.pid)
            except psutil.NoSuchProcess:
                pass
        return killed

    def log_text(self, name: str, *, since: int = 0) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        with open(path, "rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")

    def log_sizes(self) -> dict[str, int]:
        return {p.stem: p.stat().st_size for p in self.logs.glob("*.log")}

    def subscribe(self, url: str) -> str:
        """A webhook subscription to every event type (there is no API for it: the admin's)."""
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        with self.postgres.connect() as conn:
            conn.execute(
                "INSERT INTO mqa_webhooksubscription (url, secret, event_types, active, created_at)"
                " VALUES (%s, %s, %s::jsonb, true, now())",
                [
                    url,
                    secret,
                    '["contact.status_changed", "account.status_changed", "handoff.created",'
                    ' "handoff.updated", "handoff.sla_breached"]',
                ],
            )
        return secret

    def score_check(self, *, account_domains: list[str] | None = None) -> dict[str, int]:
        """Stored scores against a fresh recompute by the pure engine (`chaos.scores`)."""
        args = [sys.executable, "-m", "chaos.scores", self.postgres.url]
        if account_domains:
            args += ["--accounts", ",".join(account_domains)]
        result = subprocess.run(
            args,
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            # The traceback says why; without it a failed check reads as a bare exit status.
            raise RuntimeError(f"chaos.scores failed:\n{result.stderr[-3000:]}")
        figures: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
        return figures
