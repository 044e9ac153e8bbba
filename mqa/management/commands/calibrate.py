"""`manage.py calibrate --cutoff T --horizon-days H [--label won|sql] [--goal f1|rate]
[--min-conversions N] [--max-interval-width W]`: the calibration backtest of the review page,
printed (or written as JSON with --json): the records left out and why, then per kind its
curve, its floors and the recommendation or why none is made; for a model with segments, one
line per segment and kind: its current and recommended threshold."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from mqa.reports.backtest import BacktestError, calibration_backtest
from mqa.reports.calibration import MAX_INTERVAL_WIDTH


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("give a time zone offset, e.g. 2018-03-01T00:00:00-03:00")
    return moment


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _point(p: dict[str, Any] | None) -> str:
    if p is None:
        return "none reaches the goal"
    return (
        f"{p['threshold']:g} (volume {p['volume']}, rate {_rate(p['conversion_rate'])},"
        f" captured {_rate(p['captured'])})"
    )


def _recommended(summary: dict[str, Any]) -> str:
    if summary["refused"]:
        return f"none: {summary['refused']}"
    return _point(summary["recommended"])


def _left_out(counts: dict[str, int]) -> str:
    return (
        f"{counts['created_after_cutoff']} created after the cut-off,"
        f" {counts['converted_before_cutoff']} converted before it"
    )


class Command(BaseCommand):
    help = "Backtest the active (or given) model's thresholds against recorded outcomes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cutoff", type=_aware, required=True)
        parser.add_argument("--horizon-days", type=int, required=True)
        parser.add_argument("--label", default="won", choices=["won", "sql"])
        parser.add_argument("--goal", default="f1", choices=["f1", "rate"])
        parser.add_argument("--target-rate", type=float)
        parser.add_argument("--version-id", type=int)
        parser.add_argument("--json", type=Path, help="also write the whole result here")
        parser.add_argument("--every", type=int, default=10, help="print every Nth threshold")
        parser.add_argument(
            "--min-conversions",
            type=int,
            help="recommend nothing from fewer conversions (default: MQA_CALIBRATION_MIN_CONVERSIONS)",
        )
        parser.add_argument(
            "--max-interval-width",
            type=float,
            default=MAX_INTERVAL_WIDTH,
            help="recommend nothing when the 95%% interval of the rate there is wider",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            result = calibration_backtest(
                cutoff=o["cutoff"],
                horizon_days=o["horizon_days"],
                label=o["label"],
                goal=o["goal"],
                target_rate=o["target_rate"],
                version_id=o["version_id"],
                min_conversions=o["min_conversions"],
                max_interval_width=o["max_interval_width"],
            )
        except BacktestError as error:
            raise CommandError(f"{error.field}: {error}") from error
        if o["json"]:
            o["json"].write_text(json.dumps(result, cls=DjangoJSONEncoder, indent=1))
        left_out = result["left_out"]
        self.stdout.write(
            f"left out: contacts {_left_out(left_out['contacts'])};"
            f" accounts {_left_out(left_out['accounts'])}"
        )
        for kind in ("contacts", "accounts"):
            summary = result[kind]
            self.stdout.write(
                f"{kind}: population {summary['population']}, converted {summary['converted']}"
                f" (base rate {_rate(summary['base_rate'])}); threshold {summary['threshold']}"
            )
            if summary["refused"]:
                self.stdout.write(f"  no recommendation: {summary['refused']}")
            for name, floor in summary["floors"].items():
                self.stdout.write(
                    f"  {name}: current {floor['current']:g}, recommended {_recommended(floor)}"
                )
            self.stdout.write("  threshold  volume  converted  rate    captured  lift   f1")
            rows = [p for p in summary["curve"] if p["threshold"] % o["every"] == 0]
            for name in ("current", "recommended"):
                if summary[name] and summary[name] not in rows:
                    rows.append(summary[name])
            for p in sorted(rows, key=lambda p: p["threshold"]):
                mark = " ".join(n for n in ("current", "recommended") if summary[n] == p)
                self.stdout.write(
                    f"  {p['threshold']:>9g}  {p['volume']:>6}  {p['converted']:>9}  "
                    f"{_rate(p['conversion_rate']):>6}  {_rate(p['captured']):>8}  "
                    f"{p['lift'] if p['lift'] is not None else '—':>5}  "
                    f"{p['f1'] if p['f1'] is not None else '—':>6}  {mark}"
                )
        for entry in result["segments"]:
            name = "no segment" if entry["segment"] is None else f"segment {entry['segment']!r}"
            self.stdout.write(f"{name}:")
            for kind in ("contacts", "accounts"):
                summary = entry[kind]
                self.stdout.write(
                    f"  {kind}: population {summary['population']}, converted"
                    f" {summary['converted']}; {summary['threshold']}: current"
                    f" {_point(summary['current'])}, recommended {_recommended(summary)}"
                )
