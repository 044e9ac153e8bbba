"""`manage.py import_csv MAPPING.json [--skip-invalid]`: load history from CSV files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mqa.imports.mapping import MappingError, mapping_parse
from mqa.services.csv_import import csv_import

SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import accounts, contacts, events, signals and outcomes from CSV files described by a "
        "mqa.csv-mapping/v1 JSON file (see mqa/imports/mapping.py). Any rejected row means "
        "nothing is stored, unless --skip-invalid."
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
            self.stdout.write(f"{name}: {rows} rows read; {done}")
        for row in report.rejected[:SHOWN]:
            self.stderr.write(f"rejected: {row}")
        if len(report.rejected) > SHOWN:
            self.stderr.write(f"... and {len(report.rejected) - SHOWN} more rejected rows")
        if not report.stored:
            raise CommandError(
                f"{len(report.rejected)} rows rejected: nothing was imported "
                "(fix them, or use --skip-invalid to import the rest)"
            )
        self.stdout.write(f"imported; {len(report.rejected)} rows rejected")
