"""`make bench` (`python -m bench`): the real stack, measured beside floors from the same run.

Environment: SCALE (default 1.0), RUNS (default 3), INGEST_SECONDS (default 60), BENCH_OUT
(default docs/benchmarks.md; the smoke run writes var/bench/benchmarks.md). The database is
BENCH_DB (default `mqa_bench`) on the PostgreSQL of DATABASE_URL / TEST_DATABASE_URL; Redis
database BENCH_REDIS_DB (default 14) is the broker; the web server listens on BENCH_PORT
(default 8765) and the stack logs to var/bench/logs-<port>/, so two runs can bench side by side
with those three apart. BENCH_ONLY=rescore loads the data and measures only the full rescore
(segmented and unsegmented), its floor and their correctness: a short report, for working on
the rescore, in var/bench/only-rescore.md; BENCH_ONLY=ingest the ingest figures and their
floor (var/bench/only-ingest.md); BENCH_ONLY=reads the readiness GETs and their floor
(var/bench/only-reads.md).

Each run also saves its figures as JSON beside the logs (var/bench/results-<start>.json);
`python -m bench --render FILE` writes the report again from them, e.g. after bench/notes.md
changed, measuring nothing.

The full rescore is measured for the shipped model, segments and all, and for the same
document without segments, interleaved on the same data (`rescores_interleaved`).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.floors import copy_floor, readiness_floor_served, sql_floor
from bench.measure import (
    load_process,
    machine,
    rescore_over_http,
    rescores_interleaved,
    spread,
    wait_drained,
)
from bench.report import SEGMENTS_GOAL, segments_ratio
from bench.settings import (
    BASE,
    INGEST_SECONDS,
    LOGS,
    ONLY,
    OUT,
    READS,
    ROOT,
    RUNS,
    SCALE,
    SMOKE,
    bench_database_url,
    connect,
    log,
)
from bench.stack import MemorySampler, Stack, cpu_seconds, prepare_database, stack_env


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

    stack = Stack(url, LOGS)
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
            results["bands"] = data.employee_bands(conn)
        results["load_seconds"] = time.monotonic() - started
        log(f"loaded {results['counts']} in {results['load_seconds']:.1f} s")
        if ONLY == "ingest":
            ingest_only(results, key, url, stack)
            return
        if ONLY == "reads":
            reads_only(results, key, url)
            return
        sampler = MemorySampler(stack)
        sampler.start()
        rescores = rescores_interleaved(key, url, RUNS)
        sampler.running = False
        results["rescore_first"] = rescores["first"]
        # The full rescore's figure is the shipped model's, segments and all.
        results["rescore"] = rescores["segmented"]
        results["rescore_unsegmented"] = rescores["unsegmented"]
        results["memory_peak_mib"] = {
            role: round(rss / 2**20) for role, rss in sampler.peak.items()
        }
        log(
            f"rescore segmented {results['rescore']}, unsegmented {results['rescore_unsegmented']}, "
            f"memory {results['memory_peak_mib']}"
        )
        results["rescore_floor"] = spread([sql_floor(url) for _ in range(RUNS)])
        log(f"SQL floor: {results['rescore_floor']}")
        checks = rescores["correct"].values()
        results["correct"] = (sum(ok for ok, _ in checks), sum(total for _, total in checks))
        log(f"correctness (both models): {results['correct']}")
        if ONLY == "rescore":
            rescore_only_report(results)
            return
        ingest_measured(results, key, url, stack)
        counts = results["counts"]
        for api, name in (("bulk", "freshness"), ("tracking", "freshness_tracking")):
            fresh = []
            for _ in range(RUNS):
                fresh.append(
                    load_process(
                        "freshness",
                        base=BASE,
                        key=key,
                        contacts=counts["contacts"],
                        accounts=counts["accounts"],
                        seconds=8 if SMOKE else 30,
                        probes=5 if SMOKE else 20,
                        api=api,
                    )
                )
                wait_drained(key, timeout=3600)
            results[f"{name}_p95"] = spread([f["p95"] for f in fresh])
            results[f"{name}_p50"] = spread([f["p50"] for f in fresh])
            log(f"{name} p95 {results[f'{name}_p95']}")
        reads = [readiness_load(key, counts, READS) for _ in range(RUNS)]
        results["readiness_p99_ms"] = spread([r["p99_ms"] for r in reads])
        results["readiness_p50_ms"] = spread([r["p50_ms"] for r in reads])
        results["readiness_rate"] = spread([r["rate"] for r in reads])
        log(f"readiness p99 {results['readiness_p99_ms']} at {results['readiness_rate']}")
        wait_drained(key, timeout=3600)
        with readiness_floor_served(url, LOGS) as floor_reads:
            floors = [readiness_load(key, counts, floor_reads) for _ in range(RUNS)]
        results["readiness_floor_p99_ms"] = spread([r["p99_ms"] for r in floors])
        results["readiness_floor_p50_ms"] = spread([r["p50_ms"] for r in floors])
        log(f"readiness floor p99 {results['readiness_floor_p99_ms']}")
        wait_drained(key, timeout=3600)
    finally:
        stack.stop()
    from bench.report import write

    measured_on = machine()
    # The figures themselves, beside the logs: `python -m bench --render FILE` writes the report
    # again from them (after bench/notes.md changed) without measuring anything.
    figures = LOGS.parent / f"results-{results['started'][:19].replace(':', '')}.json"
    figures.write_text(json.dumps({"results": results, "machine": measured_on}, indent=1))
    write(OUT, results, measured_on)
    log(f"report written to {OUT}, figures to {figures}")
    ok, total = results["correct"]
    if ok != total or results["ingest_errors"]:
        raise SystemExit(
            f"bench results are wrong: {ok}/{total} samples agree, {results['ingest_errors']} ingest errors"
        )


def readiness_load(key: str, counts: dict[str, int], reads: str) -> dict[str, Any]:
    """Readiness GETs at 300 req/s against `reads` while ingest runs at 5,000 ev/s."""
    return load_process(
        "readiness",
        base=BASE,
        reads=reads,
        key=key,
        contacts=counts["contacts"],
        accounts=counts["accounts"],
        seconds=5 if SMOKE else 20,
        rate=300.0,
        ingest_rate=5000.0,
    )


def ingest_measured(results: dict[str, Any], key: str, url: str, stack: Stack) -> None:
    """Bulk and tracking-API ingest over HTTP (each drained before the next), then the raw
    COPY floor into the same table; with the CPU time each role spent per 1,000 events, from
    the first request to the queue drained (the scoring the ingest caused included)."""
    counts = results["counts"]
    runs: dict[str, list[dict[str, Any]]] = {"bulk": [], "tracking": []}
    cpu: dict[str, list[dict[str, float]]] = {"bulk": [], "tracking": [], "copy": []}
    for api, measured in runs.items():
        for _ in range(RUNS):
            before = cpu_seconds(stack)
            measured.append(
                load_process(
                    "ingest",
                    base=BASE,
                    key=key,
                    contacts=counts["contacts"],
                    accounts=counts["accounts"],
                    seconds=INGEST_SECONDS,
                    rate=None,
                    threads=4,
                    api=api,
                )
            )
            wait_drained(key, timeout=3600)
            cpu[api].append(_per_thousand(before, cpu_seconds(stack), measured[-1]["events"]))
    results["ingest"] = spread([r["rate"] for r in runs["bulk"]])
    results["tracking_ingest"] = spread([r["rate"] for r in runs["tracking"]])
    log(f"tracking-API ingest {results['tracking_ingest']}")
    results["ingest_errors"] = sum(r["errors"] for r in runs["bulk"] + runs["tracking"])
    rows = min(200_000, max(5_000, int(results["ingest"]["median"] * 10)))
    floors = []
    for _ in range(RUNS):
        rate, floor_cpu = copy_floor(url, rows)
        floors.append(rate)
        cpu["copy"].append(floor_cpu)
    results["copy_floor"] = spread(floors)
    results["ingest_cpu_ms"] = {
        name: {
            role: round(statistics.median(r.get(role, 0.0) for r in runs_), 1) for role in runs_[0]
        }
        for name, runs_ in cpu.items()
    }
    log(f"CPU ms per 1,000 events (median): {results['ingest_cpu_ms']}")
    log(
        f"ingest {results['ingest']} (errors {results['ingest_errors']}), "
        f"COPY floor {results['copy_floor']}"
    )


def _per_thousand(
    before: dict[str, float], after: dict[str, float], events: int
) -> dict[str, float]:
    return {
        role: round(1000 * 1000 * (after[role] - before.get(role, 0.0)) / max(1, events), 1)
        for role in after
    }


def reads_only(results: dict[str, Any], key: str, url: str) -> None:
    """BENCH_ONLY=reads: one publish (so accounts have scores), then readiness under ingest
    and its floor under the same load, in a short report (var/bench/only-reads.md)."""
    rescore_over_http(key)
    counts = results["counts"]
    reads = [readiness_load(key, counts, READS) for _ in range(RUNS)]
    wait_drained(key, timeout=3600)
    with readiness_floor_served(url, LOGS) as floor_reads:
        floors = [readiness_load(key, counts, floor_reads) for _ in range(RUNS)]
    wait_drained(key, timeout=3600)

    def runs(values: list[float], unit: str) -> str:
        return _runs(spread(values), 1, unit)

    _short_report(
        [
            f"# Reads only, scale {results['scale']} ({results['started']})",
            "",
            f"data: {results['counts']}; readiness GETs at 300 req/s for 20 s, ingest at 5,000 ev/s",
            f"readiness p99: {runs([r['p99_ms'] for r in reads], ' ms')}",
            f"readiness p50: {runs([r['p50_ms'] for r in reads], ' ms')}",
            f"served: {runs([r['rate'] for r in reads], ' req/s')}",
            f"floor p99: {runs([r['p99_ms'] for r in floors], ' ms')}",
            f"floor p50: {runs([r['p50_ms'] for r in floors], ' ms')}",
            f"floor served: {runs([r['rate'] for r in floors], ' req/s')}",
        ]
    )


def _runs(s: dict[str, Any], digits: int, unit: str = "") -> str:
    """Every run's figure, then the median with min–max."""
    listed = ", ".join(f"{v:,.{digits}f}" for v in s["values"])
    low, high = f"{s['min']:,.{digits}f}", f"{s['max']:,.{digits}f}"
    return f"{listed}; median {s['median']:,.{digits}f}{unit} ({low}–{high}, {s['runs']} runs)"


def _short_report(lines: list[str]) -> None:
    """A BENCH_ONLY run's report, written to OUT (var/bench/only-*.md)."""
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join([*lines, ""]))
    log(f"report written to {OUT}")


def ingest_only(results: dict[str, Any], key: str, url: str, stack: Stack) -> None:
    """BENCH_ONLY=ingest: after the load, only the ingest figures and their floor, in a short
    report (var/bench/only-ingest.md), for working on the ingest path."""
    ingest_measured(results, key, url, stack)
    bulk, tracking, floor = results["ingest"], results["tracking_ingest"], results["copy_floor"]

    _short_report(
        [
            f"# Ingest only, scale {results['scale']} ({results['started']})",
            "",
            f"data: {results['counts']}; {INGEST_SECONDS:.0f} s per run, 4 senders, 1,000 per batch",
            f"bulk ingest (ev/s): {_runs(bulk, 0)}",
            f"tracking-API ingest (ev/s): {_runs(tracking, 0)}",
            f"COPY floor (rows/s): {_runs(floor, 0)}",
            f"bulk ÷ COPY floor: {bulk['median'] / floor['median']:.1%}; "
            f"tracking ÷ bulk: {tracking['median'] / bulk['median']:.1%}",
            f"CPU ms per 1,000 events by role, to drained (median of runs): {results['ingest_cpu_ms']}",
            f"errors: {results['ingest_errors']}",
        ]
    )
    if results["ingest_errors"]:
        raise SystemExit(f"bench results are wrong: {results['ingest_errors']} ingest errors")


def rescore_only_report(results: dict[str, Any]) -> None:
    """BENCH_ONLY=rescore: the first publish after the load, every run's figure of the
    segmented and the unsegmented model (interleaved), the floor, memory and correctness."""
    rescore, floor = results["rescore"], results["rescore_floor"]
    plain = results["rescore_unsegmented"]
    segments = segments_ratio(rescore, plain)

    lines = [
        f"# Rescore only, scale {results['scale']} ({results['started']})",
        "",
        f"data: {results['counts']}; accounts by segment: {results['bands']}",
        f"first publish after the load (unsegmented, not counted): {results['rescore_first']:.2f} s",
        f"rescore runs, shipped model with segments (s): {_runs(rescore, 2)}",
        f"rescore runs, same document without segments (s): {_runs(plain, 2)}",
        f"segmented ÷ unsegmented (median ÷ median): {segments['ratio']:.2f}× "
        f"(run by run: {', '.join(f'{r:.2f}' for r in segments['pairs'])}); "
        f"goal ≤ {SEGMENTS_GOAL}×: {'met' if segments['met'] else 'NOT MET'}",
        f"SQL floor runs (s): {_runs(floor, 2)}",
        f"ratio to the floor (segmented median ÷ median): {rescore['median'] / floor['median']:.1f}×",
        f"memory peak (MiB): {results['memory_peak_mib']}",
        f"correct samples: {results['correct'][0]} of {results['correct'][1]}",
    ]
    _short_report(lines)
    ok, total = results["correct"]
    if ok != total:
        raise SystemExit(f"bench results are wrong: {ok}/{total} samples agree")


def render(path: Path) -> None:
    from bench.report import write

    saved = json.loads(path.read_text())
    write(OUT, saved["results"], saved["machine"])
    print(f"report written to {OUT} from {path}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--render"] and len(sys.argv) == 3:
        render(Path(sys.argv[2]))
    else:
        main()
