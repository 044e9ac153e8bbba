"""`make bench` (`python -m bench`): the real stack, measured beside floors from the same run.

Environment: SCALE (default 1.0), RUNS (default 3), INGEST_SECONDS (default 60), BENCH_OUT
(default docs/benchmarks.md; the smoke run writes var/bench/). The database is BENCH_DB
(default `mqa_bench`) on the PostgreSQL of DATABASE_URL / TEST_DATABASE_URL; Redis database
BENCH_REDIS_DB (default 14) is the broker; the web server listens on BENCH_PORT (default 8765),
so two checkouts can bench side by side. BENCH_ONLY=rescore loads the data and measures only
the full rescore, its floor and their correctness (a short report, for working on the rescore).
"""

from __future__ import annotations

import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import psutil
import psycopg
from psycopg import sql as pgsql

ROOT = Path(__file__).resolve().parents[1]
SCALE = float(os.environ.get("SCALE", "1.0"))
SMOKE = SCALE <= 0.01
RUNS = int(os.environ.get("RUNS", "1" if SMOKE else "3"))
INGEST_SECONDS = float(os.environ.get("INGEST_SECONDS", "4" if SMOKE else "60"))
OUT = Path(
    os.environ.get(
        "BENCH_OUT", ROOT / ("var/bench/benchmarks.md" if SMOKE else "docs/benchmarks.md")
    )
)
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DATABASE = os.environ.get("BENCH_DB", "mqa_bench")
ONLY = os.environ.get("BENCH_ONLY", "")
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


def prepare_database(url: str) -> None:
    with connect(SOURCE_URL) as admin:
        admin.autocommit = True
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
        ).fetchone()
        if not exists:
            admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(DATABASE)))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=stack_env(url),
        check=True,
    )


def stack_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS,
        "DJANGO_SECRET_KEY": "bench",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_CONN_MAX_AGE": "300",
    }


class Stack:
    """gunicorn for writes (2 workers × 8 threads) and for reads (1 × 4), one Celery worker
    (2 processes) and beat."""

    def __init__(self, url: str, logs: Path) -> None:
        self.env, self.logs, self.processes = stack_env(url), logs, []

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "-b",
                f"127.0.0.1:{PORT}",
                "-w",
                "2",
                "-k",
                "gthread",
                "--threads",
                "8",
                "--log-level",
                "warning",
            ],
            "reads": [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "-b",
                f"127.0.0.1:{PORT + 1}",
                "-w",
                "1",
                "-k",
                "gthread",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            "worker": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-c",
                "2",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"bench{PORT}@%h",
            ],
            "beat": [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=WARNING",
                "--schedule",
                str(self.logs / "beat-schedule"),
            ],
        }
        for name, command in commands.items():
            log_file = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115
            self.processes.append(
                (
                    name,
                    subprocess.Popen(
                        command, cwd=ROOT, env=self.env, stdout=log_file, stderr=subprocess.STDOUT
                    ),
                )
            )
        import requests

        for _ in range(200):
            try:
                if all(
                    requests.get(f"{base}/api/schema/", timeout=2).status_code == 200
                    for base in (BASE, READS)
                ):
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("the web server did not start")

    def pids(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for name, process in self.processes:
            try:
                parent = psutil.Process(process.pid)
                found[name] = [parent.pid] + [c.pid for c in parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        found["postgres"] = [
            p.pid
            for p in psutil.process_iter(["name"])
            if p.info["name"] and "postgres" in p.info["name"]
        ]
        return found

    def stop(self) -> None:
        for _, process in self.processes:
            process.send_signal(signal.SIGTERM)
        for _, process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


class MemorySampler(threading.Thread):
    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack, self.peak, self.running = stack, {}, True

    def run(self) -> None:
        while self.running:
            for role, pids in self.stack.pids().items():
                for pid in pids:
                    try:
                        rss = psutil.Process(pid).memory_info().rss
                    except psutil.Error:
                        continue
                    self.peak[role] = max(self.peak.get(role, 0), rss)
            time.sleep(0.25)


def api(key: str) -> Any:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"
    return session


def rescore_over_http(key: str) -> float:
    """Import the default model as a draft, publish it, wait for the rescore to finish."""
    session = api(key)
    document = json.loads((ROOT / "mqa" / "default_model.json").read_text())
    draft = session.post(f"{BASE}/api/v1/scoring-models", json=document).json()
    started = time.monotonic()
    assert (
        session.post(
            f"{BASE}/api/v1/scoring-models/{draft['id']}/publish", json={"route": False}
        ).status_code
        == 202
    )
    while True:
        pipeline = session.get(f"{BASE}/api/v1/pipeline").json()
        if (
            pipeline["rescore"]["state"] == "done"
            and pipeline["active_model_version"] == draft["version"]
        ):
            return time.monotonic() - started
        time.sleep(0.1)


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


def copy_floor(url: str, rows: int) -> float:
    """Raw COPY of `rows` events like the ones ingest posts, into the same table, then removed."""
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
        conn.execute("DELETE FROM contacts_engagementevent WHERE source = 'copyfloor'")
        conn.commit()
    return rows / elapsed


def load_process(mode: str, **args: Any) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.load", json.dumps({"mode": mode, **args})],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_drained(key: str, timeout: float = 600) -> float:
    session = api(key)
    started = time.monotonic()
    while session.get(f"{BASE}/api/v1/pipeline").json()["pending"] != 0:
        if time.monotonic() - started > timeout:
            raise RuntimeError("pending work did not drain")
        time.sleep(0.2)
    return time.monotonic() - started


def check_correctness(url: str, samples: int = 25) -> tuple[int, int]:
    """Sampled contacts and accounts: stored scores equal the pure engine's (within 0.01)."""
    os.environ.update(stack_env(url))
    import django

    django.setup()
    from accounts.models import Account, AccountSignal
    from contacts.models import Contact, EngagementEvent
    from mqa.models import AccountScore, ContactScore
    from mqa.scoring import CommitteeMember, score_account, score_contact
    from mqa.selectors import scoring_model_active
    from mqa.services.facts import account_facts, activities_by_owner, contact_facts

    active = scoring_model_active()
    assert active is not None
    rng = random.Random(3)
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ok = total = 0
    for contact in Contact.objects.filter(
        id__in=[1 + rng.randrange(top) for _ in range(samples)]
    ).select_related("account", "score"):
        at = contact.score.computed_at
        events = activities_by_owner(
            EngagementEvent, "contact_id", [contact.id], active.model.contact.engagement_rules, at
        )
        result = score_contact(
            active.model.contact, contact_facts(contact), events.get(contact.id, ()), at
        )
        total += 1
        ok += (
            result.fit == contact.score.fit
            and abs(result.engagement - contact.score.engagement) <= 0.01
        )
    for account in Account.objects.filter(
        id__in=[1 + rng.randrange(Account.objects.count()) for _ in range(samples)]
    ):
        score = AccountScore.objects.get(account=account)
        members = [
            CommitteeMember(c.email, c.buying_role, c.score.status, c.score.engagement)
            for c in Contact.objects.filter(account=account).select_related("score")
        ]
        signals = activities_by_owner(
            AccountSignal,
            "account_id",
            [account.id],
            active.model.account.signal_rules,
            score.computed_at,
        )
        result = score_account(
            active.model.account,
            account_facts(account),
            members,
            signals.get(account.id, ()),
            score.computed_at,
        )
        total += 1
        ok += result.fit == score.fit and abs(result.engagement - score.engagement) <= 0.011
    ContactScore.objects.none()
    return ok, total


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
        "values": values,
    }


def main() -> None:
    url = bench_database_url()
    log(f"scale {SCALE}, {RUNS} run(s) per figure, ingest {INGEST_SECONDS:.0f} s, database {url}")
    prepare_database(url)
    results: dict[str, Any] = {"scale": SCALE, "started": datetime.now(UTC).isoformat()}
    key = (
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "create_api_key",
                "bench",
                "--scopes",
                "read,ingest,admin",
            ],
            cwd=ROOT,
            env=stack_env(url),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    from bench import data

    stack = Stack(url, ROOT / "var" / "bench" / "logs")
    stack.start()
    try:
        growth_scale = SCALE / 10
        if not SMOKE and ONLY != "rescore":
            with connect(url) as conn:
                data.load(conn, growth_scale, datetime.now(UTC))
            results["rescore_small"] = spread([rescore_over_http(key) for _ in range(RUNS)])
            log(f"rescore at scale {growth_scale}: {results['rescore_small']}")
        started = time.monotonic()
        with connect(url) as conn:
            results["counts"] = data.load(conn, SCALE, datetime.now(UTC))
        results["load_seconds"] = time.monotonic() - started
        log(f"loaded {results['counts']} in {results['load_seconds']:.1f} s")
        sampler = MemorySampler(stack)
        sampler.start()
        results["rescore"] = spread([rescore_over_http(key) for _ in range(RUNS)])
        sampler.running = False
        results["memory_peak_mib"] = {
            role: round(rss / 2**20) for role, rss in sampler.peak.items()
        }
        log(f"rescore: {results['rescore']}, memory {results['memory_peak_mib']}")
        results["rescore_floor"] = spread([sql_floor(url) for _ in range(RUNS)])
        log(f"SQL floor: {results['rescore_floor']}")
        results["correct"] = check_correctness(url)
        log(f"correctness: {results['correct']}")
        if ONLY == "rescore":
            rescore_only_report(results)
            return
        counts = results["counts"]
        ingest_runs = []
        for _ in range(RUNS):
            ingest_runs.append(
                load_process(
                    "ingest",
                    base=BASE,
                    key=key,
                    contacts=counts["contacts"],
                    accounts=counts["accounts"],
                    seconds=INGEST_SECONDS,
                    rate=None,
                    threads=4,
                )
            )
            wait_drained(key, timeout=3600)
        results["ingest"] = spread([r["rate"] for r in ingest_runs])
        results["ingest_errors"] = sum(r["errors"] for r in ingest_runs)
        results["copy_floor"] = spread(
            [
                copy_floor(url, min(200_000, max(5_000, int(results["ingest"]["median"] * 10))))
                for _ in range(RUNS)
            ]
        )
        log(
            f"ingest {results['ingest']} (errors {results['ingest_errors']}), COPY floor {results['copy_floor']}"
        )
        fresh = [
            load_process(
                "freshness",
                base=BASE,
                key=key,
                contacts=counts["contacts"],
                accounts=counts["accounts"],
                seconds=8 if SMOKE else 30,
                probes=5 if SMOKE else 20,
            )
            for _ in range(RUNS)
        ]
        results["freshness_p95"] = spread([f["p95"] for f in fresh])
        results["freshness_p50"] = spread([f["p50"] for f in fresh])
        wait_drained(key, timeout=3600)
        log(f"freshness p95 {results['freshness_p95']}")
        reads = [
            load_process(
                "readiness",
                base=BASE,
                reads=READS,
                key=key,
                contacts=counts["contacts"],
                accounts=counts["accounts"],
                seconds=5 if SMOKE else 20,
                rate=300.0,
                ingest_rate=5000.0,
            )
            for _ in range(RUNS)
        ]
        results["readiness_p99_ms"] = spread([r["p99_ms"] for r in reads])
        results["readiness_p50_ms"] = spread([r["p50_ms"] for r in reads])
        results["readiness_rate"] = spread([r["rate"] for r in reads])
        log(f"readiness p99 {results['readiness_p99_ms']} at {results['readiness_rate']}")
        wait_drained(key, timeout=3600)
    finally:
        stack.stop()
    from bench.report import write

    write(OUT, results, machine())
    log(f"report written to {OUT}")
    ok, total = results["correct"]
    if ok != total or results["ingest_errors"]:
        raise SystemExit(
            f"bench results are wrong: {ok}/{total} samples agree, {results['ingest_errors']} ingest errors"
        )


def rescore_only_report(results: dict[str, Any]) -> None:
    """BENCH_ONLY=rescore: every run's figure (the first publish scores from nothing, the
    later ones republish the same document), the floor, memory and correctness."""
    rescore, floor = results["rescore"], results["rescore_floor"]
    lines = [
        f"# Rescore only, scale {results['scale']} ({results['started']})",
        "",
        f"data: {results['counts']}",
        f"rescore runs (s): {', '.join(f'{v:.2f}' for v in rescore['values'])}; "
        f"median {rescore['median']:.2f}",
        f"SQL floor runs (s): {', '.join(f'{v:.2f}' for v in floor['values'])}; "
        f"median {floor['median']:.2f}",
        f"ratio (median ÷ median): {rescore['median'] / floor['median']:.1f}×",
        f"memory peak (MiB): {results['memory_peak_mib']}",
        f"correct samples: {results['correct'][0]} of {results['correct'][1]}",
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    log(f"report written to {OUT}")
    ok, total = results["correct"]
    if ok != total:
        raise SystemExit(f"bench results are wrong: {ok}/{total} samples agree")


def machine() -> dict[str, Any]:
    with connect(SOURCE_URL) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        settings = dict(
            conn.execute(
                "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'max_wal_size', 'synchronous_commit', 'jit', 'effective_cache_size')"
            ).fetchall()
        )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "postgresql": pg,
        "postgresql_settings": settings,
        "redis": subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True
        ).stdout.split()[2]
        if _has("redis-server")
        else "?",
    }


def _has(command: str) -> bool:
    from shutil import which

    return which(command) is not None


if __name__ == "__main__":
    main()
