"""The run: pick ports, start the stack on its own PostgreSQL and Redis, run the scenarios,
write the figures (JSON, and docs/reliability.md for a full run)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos.services import free_port

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m chaos")
    parser.add_argument("--short", action="store_true", help="the short version (make test)")
    parser.add_argument("--only", default="", help="scenarios to run, e.g. R1,R3")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument("--render", type=Path, help="only write the report from these figures")
    args = parser.parse_args()
    if args.render:
        from chaos.report import report_write

        report_write(json.loads(args.render.read_text()), args.report)
        return
    # A stopped run (timeout, Ctrl-C) still stops the processes and servers it started.
    signal.signal(signal.SIGTERM, _exit)
    # bench.settings reads the port when first imported: choose it before importing the stack.
    os.environ["BENCH_PORT"] = str(free_port(span=2))
    from chaos.report import report_write
    from chaos.scenarios import SCENARIOS
    from chaos.stack import ChaosStack

    wanted = [n.strip().upper() for n in args.only.split(",") if n.strip()] or list(SCENARIOS)
    directory = ROOT / "var" / "chaos" / ("short" if args.short else "full")
    stack = ChaosStack(directory, short=args.short)
    started, results = time.monotonic(), list[dict[str, Any]]()
    run: dict[str, Any] = {
        "short": args.short,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "scenarios": results,
    }
    try:
        _log(f"starting the stack in {directory}")
        stack.start()
        run["setup_s"] = round(time.monotonic() - started, 1)
        for name in wanted:
            _log(f"{name} …")
            try:
                results.append(SCENARIOS[name](stack, args.short))
            except Exception:
                results.append({"name": name, "error": traceback.format_exc()})
            _log(f"{name}: {json.dumps(results[-1].get('figures') or results[-1])[:2000]}")
            # After each scenario: a run stopped later (a timeout) keeps what it measured.
            _write(run, args.json, directory)
    finally:
        stack.stop()
    run["total_s"] = round(time.monotonic() - started, 1)
    _write(run, args.json, directory)
    if not args.short:
        report_write(run, args.report)
        _log(f"wrote {args.report}")
    sys.exit(1 if any("error" in r for r in results) else 0)


def _write(run: dict[str, Any], json_path: Path | None, directory: Path) -> None:
    for path in (json_path, directory / "figures.json"):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(run, indent=2, default=str))


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _log(message: str) -> None:
    print(f"[chaos {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)
