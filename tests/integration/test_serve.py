"""`make serve` as production runs it (DJANGO_DEBUG=false): gunicorn, a Celery worker and beat,
against the test PostgreSQL database and a Redis server of the test's own (so that it can be
stopped). Static files come from whitenoise; the probes tell what is down."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import ROOT, _require

pytestmark = pytest.mark.integration
ASSETS = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check, seconds: float, what: str, logs: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds} s\n{logs.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    server = shutil.which("redis-server")
    if server is None:
        _require("no redis-server")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    yield f"redis://127.0.0.1:{port}/0", process
    if process.poll() is None:
        process.terminate()
        process.wait(10)


@pytest.fixture
def served(
    database_url: str, own_redis, tmp_path: Path
) -> Iterator[tuple[str, Path, dict[str, str]]]:  # type: ignore[no-untyped-def]
    redis_url, _ = own_redis
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MQA_"))}
    env |= {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SECRET_KEY": "serve-test-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_CONN_MAX_AGE": "0",
        "PORT": str(port),
        "MQA_STATIC_ROOT": str(tmp_path / "static"),
        "MQA_BEAT_SCHEDULE": str(tmp_path / "beat-schedule"),
        "MQA_HEARTBEAT_SECONDS": "1",
    }
    logs = tmp_path / "serve.log"
    with logs.open("wb") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a terminal would
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=2).ok, 90, "no answer", logs)
        yield base, logs, env
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        try:
            make.wait(30)
            deadline = time.monotonic() + 30
            while _group_alive(make.pid):  # web, worker and beat stop too, not only make
                assert time.monotonic() < deadline, logs.read_text()[-3000:]
                time.sleep(0.1)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            pytest.fail(f"make serve did not stop on SIGTERM\n{logs.read_text()[-3000:]}")


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def scrape(session: requests.Session, base: str) -> dict[tuple[str, tuple], float]:
    text = session.get(f"{base}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def web_lines(logs: Path) -> list[str]:
    """The web process's log lines that are the application's (gunicorn's own start-up
    lines are its format, not ours)."""
    return [
        line
        for line in logs.read_text(errors="replace").splitlines()
        if " web.1 " in line and "| {" in line
    ]


def assets_load(session: requests.Session, base: str, page: str) -> list[str]:
    response = session.get(f"{base}{page}", timeout=10)
    assert response.status_code == 200, (page, response.status_code)
    assets = sorted(set(ASSETS.findall(response.text)))
    for asset in assets:
        loaded = session.get(f"{base}{asset}", timeout=10)
        assert loaded.status_code == 200, asset
        kind = "text/css" if asset.endswith(".css") else "text/javascript"
        if asset.endswith((".css", ".js")):
            assert loaded.headers["content-type"].startswith(kind), asset
    return assets


def test_make_serve_serves_pages_static_files_and_probes_in_production_mode(served, own_redis):
    base, logs, server_env = served
    _, redis_server = own_redis
    # With the server's settings (its password hasher), as an operator would.
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "ops"],
        cwd=ROOT,
        env={
            **server_env,
            "DJANGO_SUPERUSER_PASSWORD": "a long serve test pw",
            "DJANGO_SUPERUSER_EMAIL": "ops@example.com",
        },
        check=True,
    )
    session = requests.Session()

    base_css = session.get(f"{base}/static/admin/css/base.css", timeout=10)
    assert (base_css.status_code, base_css.headers["content-type"]) == (
        200,
        'text/css; charset="utf-8"',
    )
    for vendored in ("htmx-2.0.11.min.js", "chart-4.6.1.umd.min.js"):
        js = session.get(f"{base}/static/mqa/vendor/{vendored}", timeout=10)
        assert js.status_code == 200, vendored
        assert js.headers["content-type"].startswith("text/javascript"), vendored
    assert "/static/admin/css/base." in " ".join(assets_load(session, base, "/admin/login/"))
    swagger = assets_load(session, base, "/api/docs/")
    assert any("swagger-ui" in asset for asset in swagger), swagger

    login = session.get(f"{base}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert token is not None
    posted = session.post(
        f"{base}/admin/login/?next=/review/",
        data={
            "username": "ops",
            "password": "a long serve test pw",
            "csrfmiddlewaretoken": token.group(1),
        },
        timeout=10,
    )
    assert posted.url == f"{base}/review/"
    review = assets_load(session, base, "/review/")
    assert any("htmx" in asset for asset in review), review
    assert any(asset.endswith(".css") for asset in review), review

    assert session.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
    wait_until(
        lambda: session.get(f"{base}/readyz", timeout=5).status_code == 200,
        60,
        "not ready (worker heartbeat)",
        logs,
    )

    key = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "serve-check", "--scopes", "ingest"],
        cwd=ROOT,
        env=server_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    before = scrape(session, base)
    items = [
        {"email": "jo@acme.com", "type": "demo_request", "id": f"serve-{n}",
         "occurred_at": "2026-11-24T10:00:00Z"}
        for n in range(2)
    ]  # fmt: skip
    posted = session.post(
        f"{base}/api/v1/events/bulk",
        json={"items": items},
        headers={"Authorization": f"Api-Key {key}", "X-Request-ID": "serve-check-1"},
        timeout=10,
    )
    assert (posted.status_code, posted.json()["accepted"]) == (202, 2)
    after = scrape(session, base)
    accepted = ("mqa_ingest_items_total", (("kind", "events"), ("outcome", "accepted")))
    assert after.get(accepted, 0) - before.get(accepted, 0) == 2
    route = (
        "mqa_http_requests_total",
        (("method", "POST"), ("status", "202"), ("view", "api/v1/events/bulk")),
    )
    assert after.get(route, 0) - before.get(route, 0) == 1

    wait_until(lambda: "serve-check-1" in logs.read_text(), 10, "no log line of the ingest", logs)
    lines = [json.loads(line.split("| ", 1)[1]) for line in web_lines(logs)]
    (ingest,) = [line for line in lines if line.get("request_id") == "serve-check-1"]
    assert (ingest["api_key"], ingest["route"], ingest["status"]) == (
        "serve-check",
        "api/v1/events/bulk",
        202,
    )

    redis_server.terminate()
    redis_server.wait(10)
    down = session.get(f"{base}/readyz", timeout=10)
    assert down.status_code == 503
    assert "redis" in down.json()["down"]
    assert session.get(f"{base}/healthz", timeout=5).status_code == 200
