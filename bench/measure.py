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
from collections import defaultdict
from datetime import datetime
from typing import Any

import psutil

from bench.settings import BASE, ROOT, SOURCE_URL, connect, log
from bench.stack import stack_env


def api(key: str) -> Any:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"
    return session


def shipped_model(*, segments: bool = True) -> dict[str, Any]:
    """The shipped default model's document; with `segments=False`, the same document with
    its `segments` removed (every record scored by the top-level model), renamed to say so."""
    document: dict[str, Any] = json.loads((ROOT / "mqa" / "default_model.json").read_text())
    if not segments:
        document.pop("segments", None)
        document["name"] = f"{document['name']} (no segments)"
    return document


def rescore_over_http(key: str, document: dict[str, Any] | None = None) -> float:
    """Import `document` (the shipped default model unless given) as a draft, publish it,
    wait for the rescore to finish."""
    session = api(key)
    if document is None:
        document = shipped_model()
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


def rescores_interleaved(key: str, url: str, runs: int) -> dict[str, Any]:
    """The full rescore of the shipped model (with its segments) and of the same document
    without segments, on the same data in the same run, interleaved — segmented, unsegmented,
    segmented, … `runs` of each — so that whatever else the machine does falls on both alike.

    A first publish (the unsegmented document, timed apart) scores the freshly loaded data: it
    starts on a cold cache and changes nearly every status from `none`. After it each publish
    changes the same records, those the two models decide differently. Sampled scores are
    checked against the pure engine with each model active: after the last segmented run and
    after the last unsegmented one.
    """
    segmented, unsegmented = shipped_model(), shipped_model(segments=False)
    first = rescore_over_http(key, unsegmented)
    log(f"first publish after the load (unsegmented): {first:.2f} s")
    seconds: dict[str, list[float]] = {"segmented": [], "unsegmented": []}
    correct: dict[str, tuple[int, int]] = {}
    for run in range(runs):
        for name, document in (("segmented", segmented), ("unsegmented", unsegmented)):
            seconds[name].append(rescore_over_http(key, document))
            log(f"rescore {run + 1}/{runs}, {name}: {seconds[name][-1]:.2f} s")
            if run == runs - 1:
                correct[name] = check_correctness(url)
                log(f"correctness with the {name} model: {correct[name]}")
    return {
        "first": first,
        "segmented": spread(seconds["segmented"]),
        "unsegmented": spread(seconds["unsegmented"]),
        "correct": correct,
    }


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
        # Not faster: at scale 1.0 the status's count of the work table, every 0.2 s, was a
        # fifth of what PostgreSQL did during a drain.
        time.sleep(1.0)
    return time.monotonic() - started


def check_correctness(url: str, samples: int = 25) -> tuple[int, int]:
    """Sampled contacts and accounts: stored scores equal the pure engine's (within 0.01)."""
    os.environ.update(stack_env(url))
    import django

    django.setup()
    from accounts.models import Account
    from contacts.models import Contact

    rng = random.Random(3)
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    contact_ids = Contact.objects.filter(
        id__in=[1 + rng.randrange(top) for _ in range(samples)]
    ).values_list("id", flat=True)
    account_ids = Account.objects.filter(
        id__in=[1 + rng.randrange(Account.objects.count()) for _ in range(samples)]
    ).values_list("id", flat=True)
    checked = scores_against_the_engine(
        contact_ids=list(contact_ids), account_ids=list(account_ids)
    )
    total = checked["contacts"] + checked["accounts"]
    return total - checked["contacts_wrong"] - checked["accounts_wrong"], total


def scores_against_the_engine(*, contact_ids: list[int], account_ids: list[int]) -> dict[str, Any]:
    """Stored scores of these (scored) records against a fresh recompute by the pure engine,
    as of when each was computed: how many were checked, how many differ (fit, engagement,
    status or segment; accounts also their committee counts), and a few samples.
    Scores compare within 0.01 (SPEC §4: sums may differ in their last bits). Needs Django
    set up on the stack's database."""
    from contacts.models import Contact
    from mqa.models import AccountScore, ContactScore
    from mqa.scoring import CommitteeMember
    from mqa.selectors import scoring_model_active
    from mqa.services.facts import accounts_results, contacts_results

    active = scoring_model_active()
    assert active is not None
    figures: dict[str, Any] = {
        "contacts": len(contact_ids),
        "contacts_wrong": 0,
        "accounts": len(account_ids),
        "accounts_wrong": 0,
        "wrong_samples": [],
    }
    scored = ContactScore.objects.filter(contact_id__in=contact_ids).values_list(
        "contact_id", "computed_at"
    )
    for computed_at, ids in _by_computed_at(scored).items():
        for start in range(0, len(ids), 2000):
            for contact, result in contacts_results(
                active.model, ids[start : start + 2000], computed_at
            ):
                stored = contact.score
                if (
                    result.fit != stored.fit
                    or abs(result.engagement - stored.engagement) > 0.01
                    or result.status != stored.status
                    or result.segment != stored.segment
                ):
                    _wrong(figures, "contacts_wrong", contact.email, stored, result)
    account_scores = AccountScore.objects.filter(account_id__in=account_ids).values_list(
        "account_id", "computed_at"
    )
    for computed_at, ids in _by_computed_at(account_scores).items():
        members: dict[int, list[CommitteeMember]] = defaultdict(list)
        for c in Contact.objects.filter(account_id__in=ids).select_related("score"):
            score = getattr(c, "score", None)
            members[c.account_id or 0].append(
                CommitteeMember(
                    c.email,
                    c.buying_role,
                    score.status if score else "none",
                    score.engagement if score else 0.0,
                )
            )
        for account, rollup in accounts_results(active.model, ids, members, computed_at):
            kept = account.score
            if (
                rollup.fit != kept.fit
                or abs(rollup.engagement - kept.engagement) > 0.011
                or rollup.status != kept.status
                or rollup.engaged_contacts != kept.engaged_contacts
                or rollup.mql_contacts != kept.mql_contacts
                or rollup.segment != kept.segment
            ):
                _wrong(figures, "accounts_wrong", account.domain, kept, rollup)
    figures["wrong_samples"] = figures["wrong_samples"][:5]
    return figures


def _by_computed_at(rows: Any) -> dict[datetime, list[int]]:
    grouped: dict[datetime, list[int]] = defaultdict(list)
    for pk, computed_at in rows:
        grouped[computed_at].append(pk)
    return grouped


def _wrong(figures: dict[str, Any], counter: str, name: str, stored: Any, fresh: Any) -> None:
    figures[counter] += 1
    figures["wrong_samples"].append(
        {
            "record": name,
            "stored": [stored.fit, stored.engagement, stored.status, stored.segment],
            "recomputed": [fresh.fit, fresh.engagement, fresh.status, fresh.segment],
        }
    )


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
