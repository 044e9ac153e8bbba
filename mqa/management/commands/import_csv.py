"""`manage.py import_csv MAPPING.json [--skip-invalid]`: load history from CSV files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mqa.imports.mapping import MappingError, mapping_parse
from mqa.services.csv_import import csv_import

SHOWN = 30  # error groups printed; the rest are summed up in one line


class Command(BaseCommand):
    help = (
        "Import accounts, contacts, events, signals and outcomes from CSV files described by a "
        "mqa.csv-mapping/v1 JSON file (see mqa/imports/mapping.py). A missing file or any "
        "rejected row means nothing is stored, unless --skip-invalid (rows only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("mapping", type=Path, help="the mapping file (mqa.csv-mapping/v1)")
        parser.add_argument(
            "--data-dir", type=Path, help="where the CSV files are (default: the mapping's folder)"
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="store the valid rows, report the others"
        )

    def handle(
        self,
        *args: Any,
        mapping: Path,
        data_dir: Path | None,
        skip_invalid: bool,
        **options: Any,
    ) -> None:
        try:
            parsed = mapping_parse(json.loads(mapping.read_text()))
        except OSError as error:
            raise CommandError(f"cannot read {mapping}: {error}") from error
        except json.JSONDecodeError as error:
            raise CommandError(f"{mapping} is not JSON: {error}") from error
        except MappingError as error:
            raise CommandError(f"{mapping}: {error}") from error
        report = csv_import(
            mapping=parsed,
            base_dir=data_dir or mapping.resolve().parent,
            skip_invalid=skip_invalid,
        )
        for name, rows in report.rows.items():
            result = report.results.get(name)
            done = ", ".join(f"{k} {v}" for k, v in result.items()) if result else "nothing stored"
            filtered = report.filtered.get(name)
            left = f", {filtered} filtered out" if filtered else ""
            self.stdout.write(f"{name}: {rows} rows read{left}; {done}")
        for missing in report.missing:
            self.stderr.write(str(missing))
        groups = report.groups()
        for group in groups[:SHOWN]:
            self.stderr.write(f"rejected: {group}")
        if len(groups) > SHOWN:
            rest = sum(g.rows for g in groups[SHOWN:])
            self.stderr.write(f"... and {len(groups) - SHOWN} more kinds of error ({rest:,} rows)")
        rejected = f"{report.rejected_rows:,} rows rejected"
        if not report.stored:
            files = len(report.missing)
            if files:
                raise CommandError(
                    f"{files} {'file' if files == 1 else 'files'} missing, {rejected}: "
                    "nothing was imported"
                )
            raise CommandError(
                f"{rejected}: nothing was imported "
                "(fix them, or use --skip-invalid to import the rest)"
            )
        self.stdout.write(f"imported; {rejected}")
