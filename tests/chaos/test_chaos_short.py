"""The short chaos run (`python -m chaos --short`): real processes, real faults, exact
invariants — no event answered 2xx lost or stored twice, every conflicting re-send reported,
no 5xx but while PostgreSQL itself is stopped, the work queue drained within 60 s of the
last fault, Redis down costing no 2xx, every webhook delivered once through a failing
receiver.

The run owns its PostgreSQL cluster and Redis server (it stops and kills them), so it needs
PostgreSQL's server binaries and `redis-server` on this machine; without them, or outside a
run configured for services (no TEST_REDIS_URL / REDIS_URL), the tests are skipped, unless
`MQA_REQUIRE_SERVICES=1` (set by `make test`), when that is a failure. One run
serves every test of this module (about three minutes); each test judges one scenario.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import _require

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DRAIN_LIMIT_S = 60.0
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Like the integration tests: a run configured for services (make test), else skipped.
    if not (os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")):
        _require("no TEST_REDIS_URL / REDIS_URL: not a run with services")
    if not shutil.which("redis-server"):
        _require("no redis-server on this machine")
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb") and not shutil.which("initdb"):
        _require("no PostgreSQL server binaries (initdb) on this machine")
    out = tmp_path_factory.mktemp("chaos") / "short.json"
    run = subprocess.Popen(
        [sys.executable, "-m", "chaos", "--short", "--json", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = run.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        run.terminate()  # the run stops the processes and servers it started on SIGTERM
        output, _ = run.communicate(timeout=60)
    if not out.exists():
        pytest.fail(f"the chaos run wrote no figures:\n{output[-5000:]}")
    # Written after each scenario: a run stopped by the timeout still has the ones it finished.
    scenarios = json.loads(out.read_text())["scenarios"]
    return {"output": output, **{s["name"]: s for s in scenarios}}


def figures(run: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in run:
        pytest.fail(f"{name} did not run before the run stopped:\n{run['output'][-5000:]}")
    scenario = run[name]
    assert "error" not in scenario, scenario["error"]
    result: dict[str, Any] = scenario["figures"]
    return result


def picked(f: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: f[k] for k in keys}


def assert_drained(drain: float | None) -> None:
    assert drain is not None and drain <= DRAIN_LIMIT_S, f"drain {drain} s"


def test_r1_no_event_answered_2xx_is_lost_while_workers_redis_and_backends_fail(short_run):
    f = figures(short_run, "R1")

    assert f["fault_errors"] == []
    assert f["sent"] > 0 and f["stored"] == f["sent"]
    assert picked(
        f, "lost", "duplicated", "mismatched", "unanswered_sends", "miscounted_answers", "4xx",
        "5xx_terminated", "5xx_other", "no_answer_other", "contacts_unscored",
        "contacts_wrong", "accounts_unscored", "accounts_wrong",
    ) == dict.fromkeys(
        ["lost", "duplicated", "mismatched", "unanswered_sends", "miscounted_answers", "4xx",
         "5xx_terminated", "5xx_other", "no_answer_other", "contacts_unscored",
         "contacts_wrong", "accounts_unscored", "accounts_wrong"], 0,
    )  # fmt: skip
    assert f["accepted"] + f["duplicates_answered"] == f["sent"]
    assert_drained(f["drain_s"])


def test_r2_postgresql_down_answers_no_2xx_and_redis_down_keeps_ingest_answering(short_run):
    f = figures(short_run, "R2")

    assert f["pg_requests_while_down"] > 0 and f["redis_requests_while_down"] > 0
    assert f["pg_2xx_while_down"] == 0
    assert f["redis_2xx_ratio_while_down"] >= 0.999
    zero = [
        f"{phase}_{k}"
        for phase in ("pg", "redis")
        for k in ("lost", "duplicated", "mismatched", "unanswered_sends", "4xx",
                  "5xx_terminated", "5xx_other", "no_answer_other")
    ]  # fmt: skip
    assert picked(f, *zero) == dict.fromkeys(zero, 0)
    assert f["redis_5xx"] == 0
    assert f["pg_stored"] == f["pg_sent"] and f["redis_stored"] == f["redis_sent"]
    assert picked(f, "contacts_unscored", "contacts_wrong", "accounts_wrong") == {
        "contacts_unscored": 0,
        "contacts_wrong": 0,
        "accounts_wrong": 0,
    }
    assert_drained(f["pg_drain_s"])
    assert_drained(f["redis_drain_s"])


def test_r3_concurrent_resends_store_each_id_once_and_report_every_conflict(short_run):
    f = figures(short_run, "R3")

    assert picked(
        f, "stored", "accepted_round1", "accepted_round2", "conflicts_answered",
        "unreported_conflicts", "false_conflicts", "miscounted_answers", "unanswered_sends",
        "5xx",
    ) == {
        "stored": 2000,
        "accepted_round1": 2000,  # each id accepted by exactly one of the 4 clients
        "accepted_round2": 0,
        "conflicts_answered": 8000,  # 2 of 4 sends of each id differ from the stored one, twice
        "unreported_conflicts": 0,
        "false_conflicts": 0,
        "miscounted_answers": 0,
        "unanswered_sends": 0,
        "5xx": 0,
    }  # fmt: skip
    assert_drained(f["drain_s"])


def test_r5_concurrent_senders_of_one_account_leave_its_score_fresh_without_deadlocks(
    short_run,
):
    f = figures(short_run, "R5")

    assert picked(
        f, "accounts", "contacts", "accounts_wrong", "contacts_wrong", "contacts_unscored",
        "deadlocks_worker_log", "lost", "duplicated", "5xx", "unanswered_sends",
    ) == {
        "accounts": 1,
        "contacts": 50,
        "accounts_wrong": 0,
        "contacts_wrong": 0,
        "contacts_unscored": 0,
        "deadlocks_worker_log": 0,
        "lost": 0,
        "duplicated": 0,
        "5xx": 0,
        "unanswered_sends": 0,
    }  # fmt: skip
    assert_drained(f["drain_s"])


def test_r6_every_webhook_arrives_signed_once_through_failures_and_an_outage(short_run):
    f = figures(short_run, "R6")

    assert f["emitted"] > 0 and f["receiver_answered_500"] > 0
    assert f["all_delivered_after_return_s"] is not None
    assert picked(
        f, "delivered", "dead", "pending_at_end", "not_received", "received_unknown",
        "receiver_duplicates", "receiver_bad_signatures",
    ) == {
        "delivered": f["emitted"],
        "dead": 0,
        "pending_at_end": 0,
        "not_received": 0,
        "received_unknown": 0,
        "receiver_duplicates": 0,
        "receiver_bad_signatures": 0,
    }  # fmt: skip
