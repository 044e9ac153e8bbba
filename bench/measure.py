"""Driving the stack over HTTP and checking what it stored: publish and wait for the rescore,
the load process, the drain, sampled correctness, and the machine's description."""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from typing import Any

import psutil

from bench.settings import BASE, ROOT, SOURCE_URL, connect
from bench.stack import stack_env


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
    from accounts.models import Account
    from contacts.models import Contact
    from mqa.scoring import CommitteeMember
    from mqa.selectors import scoring_model_active
    from mqa.services.facts import accounts_results, contacts_results

    active = scoring_model_active()
    assert active is not None
    rng = random.Random(3)
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ok = total = 0
    for contact in Contact.objects.filter(
        id__in=[1 + rng.randrange(top) for _ in range(samples)]
    ).select_related("score"):
        # Scored as of when the stored score was computed.
        ((_, result),) = contacts_results(
            active.model.contact, [contact.id], contact.score.computed_at
        )
        total += 1
        ok += (
            result.fit == contact.score.fit
            and abs(result.engagement - contact.score.engagement) <= 0.01
        )
    for account in Account.objects.filter(
        id__in=[1 + rng.randrange(Account.objects.count()) for _ in range(samples)]
    ).select_related("score"):
        score = account.score
        members = [
            CommitteeMember(c.email, c.buying_role, c.score.status, c.score.engagement)
            for c in Contact.objects.filter(account=account).select_related("score")
        ]
        ((_, result),) = accounts_results(
            active.model.account, [account.id], {account.id: members}, score.computed_at
        )
        total += 1
        ok += result.fit == score.fit and abs(result.engagement - score.engagement) <= 0.011
    return ok, total


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
        "values": values,
    }


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
