"""`manage.py calibrate --cutoff T --horizon-days H [--label won|sql] [--goal f1|rate]
[--min-conversions N] [--max-interval-width W]`: the calibration backtest of the review page,
printed (or written as JSON with --json): the records left out and why, then per kind its
curve, its floors and the recommendation or why none is made; for a model with segments, one
line per segment and kind: its current and recommended threshold.

With `--suggest [--seed N] [--out FILE]` it learns from the same outcomes instead
(`mqa.reports.suggest`): prints the per-rule evidence, the attribute values no rule uses, the
suggested points and total, and the version against the suggestion on the held-out part, and
writes the suggested document (JSON) to FILE. With fewer conversions than
MQA_CALIBRATION_MIN_CONVERSIONS it prints why and exits with status 1, writing nothing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from mqa.reports.backtest import BacktestError, calibration_backtest
from mqa.reports.calibration import MAX_INTERVAL_WIDTH
from mqa.reports.suggest import DEFAULT_SEED, SuggestionError, calibration_suggestion


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


def _number(value: float | None, places: int = 4) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def _evidence(e: dict[str, Any], kind_width: int = 12) -> str:
    interval = e["interval"]
    return (
        f"  {e['kind']:<{kind_width}}  {e['rule'][:24]:<24}  {e['matched']:>7}  {_rate(e['conversion_rate']):>6}"
        f"  {_rate(e['rest_conversion_rate']):>6}  {_number(e['lift'], 2):>5}"
        f"  {(f'{interval[0]:.1%}–{interval[1]:.1%}' if interval else '—'):>13}"
        f"  {_rate(e['conversion_share']):>6}  {'weak: ' + e['weak'] if e['weak'] else ''}"
    ).rstrip()


def _figures(f: dict[str, Any]) -> list[str]:
    same, at = f["same_volume"], f["at_threshold"]
    return [
        _number(f["roc_auc"]),
        _number(f["pr_auc"]),
        _rate(same["precision"]),
        _rate(same["recall"]),
        str(at["volume"]),
        _rate(at["conversion_rate"]),
        _rate(at["recall"]),
        _number(at["f1"]),
    ]


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

        parser.add_argument(
            "--suggest",
            action="store_true",
            help="print per-rule evidence, suggested points and a held-out comparison instead",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the split's seed")
        parser.add_argument("--out", type=Path, help="with --suggest: write the document here")

    def handle(self, *args: Any, **o: Any) -> None:
        if o["out"] and not o["suggest"]:
            raise CommandError("--out goes with --suggest")
        if o["suggest"]:
            self.suggest(o)
            return
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

    def suggest(self, o: dict[str, Any]) -> None:
        try:
            result = calibration_suggestion(
                cutoff=o["cutoff"],
                horizon_days=o["horizon_days"],
                label=o["label"],
                version_id=o["version_id"],
                seed=o["seed"],
            )
        except BacktestError as error:
            raise CommandError(f"{error.field}: {error}") from error
        except SuggestionError as error:
            raise CommandError(f"no suggestion: {error}") from error
        write = self.stdout.write
        converted = result["split"]["train_conversions"] + result["split"]["held_out_conversions"]
        write(
            f"version {result['model_version']}: {result['records']} records, {converted} converted"
        )
        write("evidence:")
        write(
            "  kind          rule                      matched  rate    rest    lift "
            "  95% interval   share"
        )
        for entry in result["evidence"]:
            write(_evidence(entry))
        write("account evidence (account rules, and the MQA criteria met at the cut-off):")
        write(
            "  kind                  rule                      matched  rate    rest    lift "
            "  95% interval   share"
        )
        for entry in result["account_evidence"]:
            write(_evidence(entry, kind_width=20))
        write("attribute values no rule uses:")
        for value in result["unused_values"] or [{"text": "none"}]:
            write(f"  {value['text']}")
        suggestion, split = result["suggestion"], result["split"]
        write(
            f"suggestion (seed {split['seed']}; trained on {split['train']} records,"
            f" {split['train_conversions']} converted):"
        )
        write("  rule                      current  suggested")
        for row in suggestion["rules"]:
            if row["points"] is None:
                continue  # a disqualifier: no points
            kept = f"  kept: weak evidence ({row['kept']})" if row["kept"] else ""
            write(f"  {row['rule'][:24]:<24}  {row['points']:>7}  {row['suggested']:>9}{kept}")
        threshold = suggestion["threshold"]
        write(
            f"  {threshold['path']}: {threshold['current']:g} → {threshold['suggested']:g}"
            f" ({threshold['goal']})"
        )
        write(
            f"comparison on the held-out {split['held_out']} records"
            f" ({split['held_out_conversions']} converted):"
        )
        names = [
            "ROC AUC",
            "PR AUC",
            "precision at the same volume",
            "recall at the same volume",
            "MQLs at its threshold",
            "conversion rate at its threshold",
            "recall at its threshold",
            "F1 at its threshold",
        ]
        version = _figures(result["comparison"]["version"])
        suggested = _figures(result["comparison"]["suggestion"])
        volume = result["comparison"]["version"]["same_volume"]["volume"]
        write(
            f"  {'(same volume: ' + str(volume) + ' MQLs)':<34}  {'version':>9}  {'suggestion':>10}"
        )
        for name, a, b in zip(names, version, suggested, strict=True):
            write(f"  {name:<34}  {a:>9}  {b:>10}")
        if o["out"]:
            o["out"].write_text(json.dumps(suggestion["document"], indent=1) + "\n")
            write(f"suggested document written to {o['out']}")
