"""`DATABASE_REPLICA_URL` against a real PostgreSQL streaming replica.

The test owns its clusters (whatever the test server is): a primary initdb'd on a free port,
a hot standby made from it with `pg_basebackup -R`, and the service run on them as a real
gunicorn process. Routing is proven, not assumed: with the standby's replay paused, a change
written over the API is on the primary while the read endpoint and the review page still show
the old value; once replay resumes they show the new one. Stopping the standby sends reads
back to the primary. Skipped without PostgreSQL's server programs (failed under
`MQA_REQUIRE_SERVICES=1`).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.integration.conftest import ROOT, _require
from tests.integration.test_serve import free_port

pytestmark = pytest.mark.integration
DATABASE = "mqa_replica_test"
DOMAIN = "replica-test.example"
PASSWORD = "replica-test-password-1"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    path = found[0] if found else shutil.which(name)
    if not path:
        _require(f"PostgreSQL's {name} was not found")
    return str(path)


def wait_for(
    check: Callable[[], Any], *, seconds: float, what: str, logs: Callable[[], str]
) -> Any:
    """Poll `check` until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = check()
            if found:
                return found
        except (requests.RequestException, psycopg.OperationalError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds} s\n{logs()}")
        time.sleep(0.05)


class Cluster:
    """A PostgreSQL cluster of the test's own in `data`, listening on 127.0.0.1:`port`.

    PostgreSQL refuses to run as root: when we are root, its files belong to `postgres` and
    its programs run as that user."""

    def __init__(self, data: Path) -> None:
        self.data, self.port, self.log = data, free_port(), data.with_suffix(".log")
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self.prefix, postgres_bin(program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def configure(self, settings: str) -> None:
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\nfsync = off\n" + settings
            )

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def query(self, sql: str, *params: Any) -> Any:
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=DATABASE, autocommit=True
        ) as conn:
            row = conn.execute(sql, params).fetchone()
        return row[0] if row else None


@pytest.fixture
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    """A primary and a hot standby streaming from it."""
    for program in ("initdb", "pg_ctl", "pg_basebackup"):
        postgres_bin(program)
    root = Path(tempfile.mkdtemp(prefix="mqa-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, standby = Cluster(root / "primary"), Cluster(root / "standby")
    started: list[Cluster] = []
    try:
        primary.run("initdb", "-D", str(primary.data), "-A", "trust", "-U", "postgres",
                    "--no-sync", "-E", "UTF8")  # fmt: skip
        primary.configure("wal_level = replica\nmax_wal_senders = 4\n")
        with open(primary.data / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        primary.start()
        started.append(primary)
        with psycopg.connect(
            host="127.0.0.1", port=primary.port, user="postgres", dbname="postgres",
            autocommit=True,
        ) as admin:  # fmt: skip
            admin.execute(f"CREATE DATABASE {DATABASE}")
        # -R: the copy starts as a standby of the primary (standby.signal, primary_conninfo).
        standby.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U",
                    "postgres", "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast", "--no-sync")  # fmt: skip
        standby.configure("hot_standby = on\n")
        standby.start()
        started.append(standby)
        yield primary, standby
    finally:
        for cluster in reversed(started):
            with contextlib.suppress(subprocess.CalledProcessError):  # the test stopped it
                cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


class Service:
    """The service's processes on the clusters: management commands and one gunicorn."""

    def __init__(self, primary: Cluster, standby: Cluster, logs: Path) -> None:
        self.port, self.logs = free_port(), logs
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "replica-test",
            "DJANGO_DEBUG": "true",
            "DATABASE_URL": primary.url,
            "DATABASE_REPLICA_URL": standby.url,
            "LOG_LEVEL": "WARNING",
        }
        self.web: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str, **env: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def api_key(self, name: str) -> dict[str, str]:
        secret = self.manage("create_api_key", name, "--scopes", "read,ingest,admin")
        return {"Authorization": f"Api-Key {secret.strip().splitlines()[-1]}"}

    def start(self) -> None:
        log = open(self.logs, "wb")  # noqa: SIM115
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b",
             f"127.0.0.1:{self.port}", "-w", "1", "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(
            lambda: requests.get(f"{self.base}/healthz", timeout=2).status_code == 200,
            seconds=30,
            what="gunicorn answering",
            logs=self.log_text,
        )

    def stop(self) -> None:
        if self.web is not None and self.web.poll() is None:
            self.web.send_signal(signal.SIGTERM)
            try:
                self.web.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.web.kill()

    def log_text(self) -> str:
        return self.logs.read_text(errors="replace")[-4000:] if self.logs.exists() else ""


@pytest.fixture
def service(clusters: tuple[Cluster, Cluster], tmp_path: Path) -> Iterator[Service]:
    primary, standby = clusters
    service = Service(primary, standby, tmp_path / "web.log")
    service.manage("migrate", "--noinput")
    service.manage(
        "createsuperuser",
        "--noinput",
        DJANGO_SUPERUSER_USERNAME="reviewer",
        DJANGO_SUPERUSER_EMAIL="reviewer@example.com",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    try:
        service.start()
        yield service
    finally:
        service.stop()


def test_read_endpoints_and_review_pages_read_from_the_streaming_replica(clusters, service):
    primary, standby = clusters
    key = service.api_key("replica-test")
    api = f"{service.base}/api/v1"

    def replayed() -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        target = primary.query("SELECT pg_current_wal_lsn()::text")
        wait_for(
            lambda: standby.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", target),
            seconds=20,
            what=f"replay up to {target}",
            logs=service.log_text,
        )

    def upsert(name: str) -> dict[str, int]:
        response = requests.post(
            f"{api}/accounts/bulk",
            json={"items": [{"domain": DOMAIN, "name": name}]},
            headers=key,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def readiness_name(headers: dict[str, str] = key) -> tuple[int, str]:
        response = requests.get(f"{api}/accounts/{DOMAIN}/readiness", headers=headers, timeout=10)
        return response.status_code, response.json().get("name")

    reviewer = requests.Session()
    login = reviewer.get(f"{service.base}/admin/login/", timeout=10)
    token = CSRF.search(login.text)
    assert token is not None
    reviewer.post(
        f"{service.base}/admin/login/",
        data={"username": "reviewer", "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
        timeout=10,
    )

    def review_page() -> tuple[int, bool, bool]:
        response = reviewer.get(
            f"{service.base}/review/accounts/{DOMAIN}/", timeout=10, allow_redirects=False
        )
        return response.status_code, "Acme Old" in response.text, "Acme New" in response.text

    # Given an account written through the primary and replayed by the standby
    assert upsert("Acme Old") == {"created": 1, "updated": 0}
    replayed()
    assert readiness_name() == (200, "Acme Old")
    assert review_page() == (200, True, False)

    # When the standby stops replaying and the account changes on the primary
    standby.query("SELECT pg_wal_replay_pause()")
    wait_for(
        lambda: standby.query("SELECT pg_get_wal_replay_pause_state()") == "paused",
        seconds=10,
        what="replay paused",
        logs=service.log_text,
    )
    assert upsert("Acme New") == {"created": 0, "updated": 1}
    assert primary.query("SELECT name FROM accounts_account WHERE domain = %s", DOMAIN) == (
        "Acme New"
    )

    # Then the read endpoint and the review page still show what the standby has
    assert readiness_name() == (200, "Acme Old")
    assert review_page() == (200, True, False)
    # ... the change feed too (its settled position is the standby's own snapshot)
    feed = requests.get(
        f"{api}/accounts", params={"updated_since": "2000-01-01T00:00:00Z"}, headers=key, timeout=10
    )
    assert feed.status_code == 200, feed.text
    assert [(a["domain"], a["name"]) for a in feed.json()["results"]] == [(DOMAIN, "Acme Old")]
    # ... while who is asking is read from the primary: a key created during the pause works
    assert readiness_name(service.api_key("created-while-paused")) == (200, "Acme Old")

    # When replay resumes, they catch up
    standby.query("SELECT pg_wal_replay_resume()")
    replayed()
    assert readiness_name() == (200, "Acme New")
    assert review_page() == (200, False, True)

    # And with the standby down, reads are served from the primary (no 500, no 503)
    standby.stop()
    upsert("Acme Newer")
    assert readiness_name() == (200, "Acme Newer")
    assert "replica unavailable" in service.log_text()
