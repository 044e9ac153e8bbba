"""The embedded quickstart as `make demo` runs it (SQLite file, no Redis): the web server and
the scheduler of Procfile.demo. A publish answers at once and the scheduler rescores, while
an ingest sent meanwhile is accepted — no 500, no "database is locked"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.conftest import ROOT
from tests.integration.test_serve import free_port, wait_until

pytestmark = pytest.mark.integration


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_a_publish_answers_at_once_and_ingest_keeps_working_while_the_scheduler_rescores(
    tmp_path: Path,
):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MQA_", "REDIS"))}
    env |= {
        "DJANGO_DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DEMO_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # as make demo
    }
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "seed_demo", "--accounts", "60")
    key = manage(env, "create_api_key", "demo", "--scopes", "read,ingest,admin").splitlines()[-1]
    logs = tmp_path / "demo.log"
    with logs.open("wb") as out:
        demo = subprocess.Popen(
            [str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile.demo"],
            cwd=ROOT,
            env={**env, "MQA_RESCORE_IN_SCHEDULER": "true"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base, answers = f"http://127.0.0.1:{port}", []
    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"
    try:
        wait_until(lambda: session.get(f"{base}/healthz", timeout=2).ok, 60, "no answer", logs)
        document = json.loads((ROOT / "mqa" / "default_model.json").read_text())
        document["contact"]["thresholds"]["total"] = 55
        draft = session.post(f"{base}/api/v1/scoring-models", json=document, timeout=10).json()

        def ingest() -> None:
            items = [
                {"email": f"late{n}@acme-demo.io", "type": "demo_request", "id": f"late-{n}",
                 "occurred_at": "2026-11-24T10:00:00Z"}
                for n in range(20)
            ]  # fmt: skip
            response = session.post(f"{base}/api/v1/events/bulk", json={"items": items}, timeout=30)
            answers.append(("ingest", response.status_code, response.json()))

        started = time.monotonic()
        published = session.post(
            f"{base}/api/v1/scoring-models/{draft['id']}/publish", json={"route": False}, timeout=30
        )
        answered = time.monotonic() - started
        during = threading.Thread(target=ingest)
        during.start()
        during.join(30)
        print(f"publish answered in {answered:.3f} s")

        assert published.status_code == 202, published.text
        assert answers == [
            ("ingest", 202, {"accepted": 20, "duplicates": 0, "conflicts": [], "suppressed": 0})
        ]

        def rescored() -> bool:
            state: dict[str, Any] = session.get(f"{base}/api/v1/pipeline", timeout=10).json()
            return (
                state["active_model_version"] == draft["version"]
                and state["rescore"]["state"] == "done"
                and state["pending"] == 0
            )

        wait_until(rescored, 120, "the scheduler did not finish the rescore", logs)
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(30)
    assert "database is locked" not in logs.read_text(errors="replace")
