"""Floors measured in the same run: hand-written SQL for the rescore, raw COPY for ingest,
a minimal WSGI app with one query for readiness (`bench.readiness_floor`)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from bench.settings import PORT, ROOT, connect

FLOOR_READS = f"http://127.0.0.1:{PORT + 2}"


@contextmanager
def readiness_floor_served(url: str, logs: Path) -> Iterator[str]:
    """`bench.readiness_floor` under gunicorn as the read pool runs (1 worker × 4 threads);
    yields its base URL."""
    import requests

    command = [sys.executable, "-m", "gunicorn", "bench.readiness_floor:application"]
    command += ["-b", FLOOR_READS.removeprefix("http://"), "-w", "1", "-k", "gthread"]
    command += ["--threads", "4", "--log-level", "warning"]
    with open(logs / "readiness-floor.log", "ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(200):
            try:
                requests.get(f"{FLOOR_READS}/", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("the readiness floor did not start")
        yield FLOOR_READS
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


FLOOR_SQL = """
CREATE TEMP TABLE floor_contacts ON COMMIT DROP AS
WITH e AS (
  SELECT contact_id, occurred_at,
         CASE WHEN type = 'demo_request' AND occurred_at >= %(t)s - interval '90 days' THEN 0
              WHEN type = 'page_view' AND occurred_at >= %(t)s - interval '30 days'
                   AND properties->>'url' LIKE '%%/pricing%%' THEN 1
              WHEN type = 'page_view' AND occurred_at >= %(t)s - interval '30 days'
                   AND properties->>'url' ~* '^/(product|features|integrations)' THEN 2
              WHEN type = 'content_download' AND occurred_at >= %(t)s - interval '60 days' THEN 3
              WHEN type = 'webinar_attended' AND occurred_at >= %(t)s - interval '90 days' THEN 4
              WHEN type = 'email_click' AND occurred_at >= %(t)s - interval '30 days' THEN 5
              WHEN type = 'unsubscribe' AND occurred_at >= %(t)s - interval '90 days' THEN 6 END AS rule
  FROM contacts_engagementevent
  WHERE occurred_at >= %(t)s - interval '90 days' AND occurred_at <= %(t)s + interval '300 seconds'
), ranked AS (
  SELECT contact_id, rule, occurred_at,
         row_number() OVER (PARTITION BY contact_id, rule ORDER BY occurred_at DESC) AS rn
  FROM e WHERE rule IS NOT NULL
), rules(rule, points, max_count, half_life) AS (
  VALUES (0, 40, NULL, 30.0), (1, 10, 3, NULL), (2, 3, 5, 14.0), (3, 8, 3, 30.0), (4, 12, 2, 45.0), (5, 2, 5, 14.0), (6, -20, 1, NULL)
)
SELECT r.contact_id,
       round(LEAST(GREATEST(sum(u.points * CASE WHEN u.half_life IS NULL THEN 1
            ELSE power(0.5, GREATEST(0, extract(epoch FROM (%(t)s - r.occurred_at))) / 86400.0 / u.half_life) END), 0), 100)::numeric, 2) AS engagement
FROM ranked r JOIN rules u ON u.rule = r.rule
WHERE u.max_count IS NULL OR r.rn <= u.max_count
GROUP BY r.contact_id;
CREATE TEMP TABLE floor_accounts ON COMMIT DROP AS
SELECT c.account_id, sum(f.engagement * CASE c.buying_role WHEN 'decision_maker' THEN 2.0 WHEN 'economic_buyer' THEN 2.0
         WHEN 'champion' THEN 1.5 WHEN 'technical_evaluator' THEN 1.2 WHEN 'user' THEN 0.5 WHEN 'procurement' THEN 0.8 ELSE 1.0 END) AS engagement,
       count(*) FILTER (WHERE f.engagement >= 10) AS engaged
FROM contacts_contact c JOIN floor_contacts f ON f.contact_id = c.id GROUP BY c.account_id;
"""


def sql_floor(url: str) -> float:
    with connect(url) as conn:
        started = time.monotonic()
        now = datetime.now(UTC)
        for statement in FLOOR_SQL.split(";\n"):
            if statement.strip():
                conn.execute(statement, {"t": now} if "%(t)s" in statement else None)
        conn.commit()
        return time.monotonic() - started


def copy_floor(url: str, rows: int) -> tuple[float, dict[str, float]]:
    """Raw COPY of `rows` events like the ones ingest posts, into the same table, then removed:
    rows per second, and the CPU ms per 1,000 rows of its PostgreSQL backend and its client."""
    now = datetime.now(UTC)
    rng = random.Random(7)
    with connect(url) as conn:
        contacts = conn.execute("SELECT max(id) FROM contacts_contact").fetchone()[0]
        data = [
            (
                1 + rng.randrange(contacts),
                "page_view",
                now - timedelta(seconds=rng.randrange(3600)),
                json.dumps({"url": "/pricing"}),
                "copyfloor",
                f"cf-{n}",
                now,
            )
            for n in range(rows)
        ]
        backend = psutil.Process(conn.info.backend_pid)
        cpu_before, client_before = sum(backend.cpu_times()[:2]), time.process_time()
        started = time.monotonic()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY contacts_engagementevent (contact_id, type, occurred_at, properties, source, external_id, received_at) FROM STDIN"
            ) as copy,
        ):
            for row in data:
                copy.write_row(row)
        conn.commit()
        elapsed = time.monotonic() - started
        cpu = {
            "postgres": 1e6 * (sum(backend.cpu_times()[:2]) - cpu_before) / rows,
            "client": 1e6 * (time.process_time() - client_before) / rows,
        }
        conn.execute("DELETE FROM contacts_engagementevent WHERE source = 'copyfloor'")
        conn.commit()
    return rows / elapsed, cpu
