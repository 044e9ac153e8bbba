"""The real stack under test: its database, gunicorn pools, Celery worker and beat, and a
sampler of their memory."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from psycopg import sql as pgsql

from bench.settings import BASE, DATABASE, PORT, READS, REDIS, ROOT, SOURCE_URL, connect


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
        **UNREACHABLE_LIMITS,
    }


# The load is one client at one address with one key: the request limits are checked on every
# request, as shipped (their cost is part of what is measured), at rates it never reaches.
UNREACHABLE_LIMITS = {
    "MQA_RATE_PER_ADDRESS": "10000000/min",
    "MQA_RATE_PER_KEY": "10000000/min",
    "MQA_RATE_INGEST_PER_KEY": "10000000/min",
}


# The pools' sizes (BENCH_WEB_WORKERS, BENCH_WORKER_PROCESSES): the defaults are the measured
# configuration; other values measure how the figures scale (docs/deploy.md).
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
WORKER_PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", "2"))


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
                str(WEB_WORKERS),
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
                str(WORKER_PROCESSES),
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


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time (user + system) used so far by each role's processes: web, reads, worker,
    beat, and every PostgreSQL process of the server; `load` is this process's waited-for
    children (the load generators)."""
    used: dict[str, float] = {}
    for role, pids in stack.pids().items():
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            used[role] = used.get(role, 0.0) + times.user + times.system
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["load"] = children.ru_utime + children.ru_stime
    return used


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
