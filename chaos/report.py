"""docs/reliability.md from a full run's figures: a summary table, the done-when checks, and
per scenario the faults injected and every figure measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.stack import WEBHOOK_MAX_ATTEMPTS, WEBHOOK_TIMEOUT_SECONDS

DRAIN_LIMIT_S = 60.0
SUMMARY = (
    "| scenario | sent | 2xx | stored | lost | duplicated | 5xx (PostgreSQL stopped / other) "
    "| drain (s) | deliveries | duplicate deliveries |"
)


def report_write(run: dict[str, Any], path: Path) -> None:
    path.write_text(report_text(run))


def _ingest(f: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    def g(key: str) -> Any:
        return f.get(prefix + key, 0)

    return {
        "sent": g("sent"),
        "2xx": g("2xx"),
        "stored": g("stored"),
        "lost": g("lost"),
        "duplicated": g("duplicated"),
        "5xx_down": g("5xx_pg_down"),
        "5xx_other": g("5xx_terminated") + g("5xx_other"),
        "drain": f.get(prefix + "drain_s"),
    }


def _rows(scenario: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    f, name = scenario["figures"], scenario["name"]
    if name == "R2":
        return [("R2 PostgreSQL down", _ingest(f, "pg_")), ("R2 Redis down", _ingest(f, "redis_"))]
    row = _ingest(f)
    if name == "R3":
        row |= {"sent": f["sends"], "lost": f["ids"] - f["stored"]}
    return [(name, row)]


def _cell(value: Any) -> str:
    return "never" if value is None else str(value)


def checks(run: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """The issue's done-when, each with whether this run met it and the figures behind it."""
    by = {s["name"]: s.get("figures", {}) for s in run["scenarios"]}
    rows = [row for s in run["scenarios"] if "figures" in s for row in _rows(s)]
    lost = sum(r["lost"] for _, r in rows)
    duplicated = sum(r["duplicated"] for _, r in rows)
    other = sum(r["5xx_other"] for _, r in rows)
    drains = [r["drain"] for _, r in rows]
    unreported = by.get("R3", {}).get("unreported_conflicts")
    redis = by.get("R2", {}).get("redis_2xx_ratio_while_down")
    pg_ok = by.get("R2", {}).get("pg_2xx_while_down")
    return [
        ("0 accepted events lost", lost == 0, f"{lost} lost"),
        ("0 duplicates", duplicated == 0, f"{duplicated} keys stored twice"),
        ("0 conflicts unreported", unreported == 0, f"{unreported} unreported (R3)"),
        (
            "0 5xx other than requests in flight when PostgreSQL stops",
            other == 0,
            f"{other} other 5xx (a terminated backend or no fault)",
        ),
        (
            f"drain after the last fault ≤ {DRAIN_LIMIT_S:.0f} s",
            all(d is not None and d <= DRAIN_LIMIT_S for d in drains),
            "slowest " + _cell(max(drains, key=lambda d: 1e9 if d is None else d)) + " s"
            if drains
            else "no drain measured",
        ),
        ("PostgreSQL down: 0 2xx", pg_ok == 0, f"{pg_ok} 2xx while it was down"),
        (
            "Redis down: ≥ 99.9 % 2xx",
            redis is not None and redis >= 0.999,
            f"{_cell(redis if redis is None else round(100 * redis, 2))} % 2xx while it was down",
        ),
    ]


def report_text(run: dict[str, Any]) -> str:
    machine = run["machine"]
    lines = [
        "# Reliability under faults",
        "",
        "`make chaos` (`python -m chaos`) runs the real stack — gunicorn, a Celery worker with 2",
        "processes, beat — on a PostgreSQL cluster and a Redis server of its own, drives it over",
        "HTTP while it injects real faults (no mocks), then checks every answer against the",
        "database. This file is written by that run; `make test` runs a short version of each",
        "scenario (`tests/chaos/`), asserting the same invariants.",
        "",
        f"Run of {run['date']} on {machine['cores']} cores ({machine['cpu']}, Python "
        f"{machine['python']}): {run.get('total_s', '?')} s in all, of which "
        f"{run.get('setup_s', '?')} s to start the stack.",
        "",
        "Settings changed from the defaults: no request limits; webhooks to local addresses "
        f"allowed, timeout {WEBHOOK_TIMEOUT_SECONDS} s, backoff 1 s, at most "
        f"{WEBHOOK_MAX_ATTEMPTS} attempts (the default 10 would turn a long outage into dead "
        "deliveries; R6 counts the deliveries that needed more than 10). The work lease, the "
        "sweep and everything else keep their defaults.",
        "",
        "## Done when",
        "",
        "| criterion | met | figures |",
        "|---|---|---|",
    ]
    lines += [f"| {c} | {'yes' if ok else '**no**'} | {why} |" for c, ok, why in checks(run)]
    lines += ["", "## Summary", "", SUMMARY, "|" + "---|" * 10]
    for scenario in run["scenarios"]:
        if "figures" not in scenario:
            lines.append(f"| {scenario['name']} | failed to run | | | | | | | | |")
            continue
        f = scenario["figures"]
        for label, r in _rows(scenario):
            deliveries = f"{f['delivered']} of {f['emitted']}" if "emitted" in f else ""
            duplicates = str(f["receiver_duplicates"]) if "emitted" in f else ""
            lines.append(
                f"| {label} | {r['sent']} | {r['2xx']} | {r['stored']} | {r['lost']} "
                f"| {r['duplicated']} | {r['5xx_down']} / {r['5xx_other']} | {_cell(r['drain'])} "
                f"| {deliveries} | {duplicates} |"
            )
    lines += [
        "",
        "*sent*: events (R3: event sends); *2xx*: requests answered 2xx (bodies are re-sent "
        "after a 5xx or a dropped connection, as a client with an outbox would); *lost*: events "
        "answered 2xx and not stored; *duplicated*: (source, id) stored more than once; "
        "*5xx other*: 5xx outside a PostgreSQL stop (including requests whose backend "
        "`pg_terminate_backend` ended); *drain*: from the later of the last answer and the last "
        "fault's recovery until `GET /api/v1/pipeline` says `pending` 0.",
        "",
    ]
    observed = observations(run)
    if observed:
        lines += ["## What the figures show", "", *[f"* {o}" for o in observed], ""]
    for scenario in run["scenarios"]:
        lines += _scenario(scenario)
    return "\n".join(lines) + "\n"


def observations(run: dict[str, Any]) -> list[str]:
    """Sentences derived from the figures: where the invariants failed, what the logs name."""
    out = []
    for scenario in run["scenarios"]:
        if "figures" not in scenario:
            continue
        name, f = scenario["name"], scenario["figures"]
        other = sum(r["5xx_other"] for _, r in _rows(scenario))
        if other:
            out.append(
                f"{name}: {other} answer(s) 5xx outside a PostgreSQL stop; in that time the web log "
                f"shows {f.get('web_503_deadlock', 0)} × 503 for a deadlock PostgreSQL detected "
                f'(reported as "the database is unavailable"), '
                f"{f.get('web_500_unique_violation', 0)} × 500 for a unique-key violation between "
                f"concurrent ingests of a new email, and {f.get('web_503_connection_lost', 0)} × "
                "503 for a connection terminated under a request."
                + (
                    " Every such body was re-sent and then stored once (lost 0)."
                    if sum(r["lost"] for _, r in _rows(scenario)) == 0
                    else ""
                )
            )
        if f.get("deadlocks_postgres_log"):
            out.append(
                f"{name}: PostgreSQL logged {f['deadlocks_postgres_log']} deadlocks "
                f"(worker log: {f.get('deadlocks_worker_log', 0)}); the ones the service did "
                "not run again reached the client as 503s (above)."
            )
    by = {s["name"]: s.get("figures", {}) for s in run["scenarios"]}
    if "R1" in by and by["R1"].get("drain_s") is not None:
        out.append(
            f"R1: after the last fault — kill -9 of the worker's processes in the middle of a "
            f"batch no later ingest touched — the queue drained in {by['R1']['drain_s']} s (such "
            "a batch comes back when its lease expires and the sweep wakes a worker)."
        )
    r6 = by.get("R6", {})
    if r6.get("pending_at_end"):
        out.append(
            f"R6: {r6['delivered']} of {r6['emitted']} webhooks were delivered; "
            f"{r6['pending_at_end']} were still waiting for a retry (the next due in "
            f"{r6.get('pending_next_attempt_in_s', '?')} s) when the run stopped waiting for them, "
            f"after a {r6['receiver_down_s']} s outage. The backoff doubles with "
            "every attempt (backoff × 2^(attempts−1), capped at 6 h), so a delivery that failed "
            "through a 2-minute outage next tries minutes later, and one failure after the "
            "receiver is back doubles that again; nothing resets the backoff once the receiver "
            "answers. None was lost or dead, none delivered twice."
        )
    elif r6.get("all_delivered_after_return_s") is not None:
        out.append(
            f"R6: every one of the {r6['emitted']} webhooks was delivered, the last "
            f"{r6['all_delivered_after_return_s']} s after the receiver came back; "
            f"{r6['receiver_duplicates']} delivered twice."
        )
    return out


def _scenario(scenario: dict[str, Any]) -> list[str]:
    lines = [f"## {scenario['name']}: {scenario.get('title', '')}", ""]
    if "error" in scenario:
        return [*lines, "The scenario failed to run:", "", "```", scenario["error"], "```", ""]
    lines.append(f"{scenario['seconds']} s.")
    if scenario["faults"]:
        lines += ["", "Faults (seconds after the scenario began):", ""]
        lines += [
            f"* {x['at_s']} s — {x['fault']}: {x['detail']} (back after {x['lasted_s']} s)"
            for x in scenario["faults"]
        ]
    lines += ["", "| figure | value |", "|---|---|"]
    for key, value in scenario["figures"].items():
        if isinstance(value, list):
            value = "; ".join(str(v)[:300] for v in value) or "—"
        lines.append(f"| {key} | {str(value).replace('|', '/')} |")
    return [*lines, ""]
