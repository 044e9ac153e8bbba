"""The benchmark's environment: scale, runs, ports, databases and the log line."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg

ROOT = Path(__file__).resolve().parents[1]
SCALE = float(os.environ.get("SCALE", "1.0"))
SMOKE = SCALE <= 0.01
RUNS = int(os.environ.get("RUNS", "1" if SMOKE else "3"))
INGEST_SECONDS = float(os.environ.get("INGEST_SECONDS", "4" if SMOKE else "60"))
ONLY = os.environ.get("BENCH_ONLY", "")
# Only a full run writes the published report: a smoke run or a BENCH_ONLY run would replace it
# with figures of another kind.
OUT = Path(
    os.environ.get(
        "BENCH_OUT",
        ROOT
        / (
            "var/bench/benchmarks.md"
            if SMOKE
            else f"var/bench/only-{ONLY}.md"
            if ONLY
            else "docs/benchmarks.md"
        ),
    )
)
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DATABASE = os.environ.get("BENCH_DB", "mqa_bench")
# Per port, so two runs in one checkout (BENCH_PORT, BENCH_DB, BENCH_REDIS_DB apart) do not
# share log files or beat's schedule file.
LOGS = ROOT / "var" / "bench" / f"logs-{PORT}"
BASE = f"http://127.0.0.1:{PORT}"
# Reads are served by a pool of their own, as a reverse proxy would route them in production
# (`/api/v1/accounts/*/readiness` → the read pool): ingest bodies keep the write pool's
# interpreters busy for tens of milliseconds each.
READS = f"http://127.0.0.1:{PORT + 1}"
SOURCE_URL = (
    os.environ.get("TEST_DATABASE_URL")
    or os.environ.get("DATABASE_URL")
    or "postgres://root@127.0.0.1:5432/test"
)
REDIS = (
    (
        os.environ.get("TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/0"
    ).rsplit("/", 1)[0]
    + "/"
    + os.environ.get("BENCH_REDIS_DB", "14")
)


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def bench_database_url() -> str:
    parsed = dj_database_url.parse(SOURCE_URL)
    auth = parsed["USER"] + (f":{parsed['PASSWORD']}" if parsed["PASSWORD"] else "")
    host = parsed["HOST"] or "%2Fvar%2Frun%2Fpostgresql"
    return f"postgres://{auth}@{host}:{parsed['PORT'] or 5432}/{DATABASE}"


def connect(url: str) -> psycopg.Connection[Any]:
    c = dj_database_url.parse(url)
    return psycopg.connect(
        dbname=c["NAME"],
        user=c["USER"] or None,
        password=c["PASSWORD"] or None,
        host=c["HOST"] or None,
        port=c["PORT"] or None,
    )
