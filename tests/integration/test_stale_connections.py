"""A real gunicorn keeps its database connection between requests (CONN_MAX_AGE); when
PostgreSQL drops it (a restart, a failover), the next request is served on a new one, not
answered with a 500 on the dead one (SPEC §7: "no stale connection reused")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.db import connection

from mqa.services.api_keys import api_key_create
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration


def _port() -> int:
    for port in range(8870, 8900):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8870-8899")


@pytest.fixture
def gunicorn(database_url: str, tmp_path: Path) -> Iterator[str]:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MQA_", "REDIS"))}
    env |= {
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "600",
        "DJANGO_SECRET_KEY": "stale-connections-test-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        # One thread: every request runs on the one connection that PostgreSQL will drop.
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application",
             "-b", f"127.0.0.1:{port}", "-w", "1", "-k", "gthread", "--threads", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)
    yield base
    server.terminate()
    server.wait(20)


def _server_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def test_after_postgresql_drops_the_servers_connection_the_next_request_succeeds(gunicorn):
    _, secret = api_key_create(name="stale", scopes=("read",))
    headers = {"Authorization": f"Api-Key {secret}"}
    first = requests.get(f"{gunicorn}/api/v1/pipeline", headers=headers, timeout=10)
    assert first.status_code == 200, first.text
    backends = _server_backends()
    assert len(backends) == 1  # the server's one persistent connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [backends])
    deadline = time.monotonic() + 10
    while _server_backends():
        assert time.monotonic() < deadline, "PostgreSQL did not end the server's connection"
        time.sleep(0.05)

    after = requests.get(f"{gunicorn}/api/v1/pipeline", headers=headers, timeout=10)
    assert after.status_code == 200, after.text
    assert after.json()["pending"] == 0
