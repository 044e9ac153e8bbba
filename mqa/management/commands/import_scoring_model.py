"""`manage.py import_scoring_model FILE [--publish] [--no-route]`: load a model document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mqa.scoring import DocumentError
from mqa.services.model_versions import scoring_model_import, scoring_model_publish


class Command(BaseCommand):
    help = "Import a mqa.scoring-model/v1 JSON document as a new draft (optionally publish it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--publish", action="store_true", help="make it active and rescore")
        parser.add_argument(
            "--no-route", action="store_true", help="with --publish: do not hand off to sales"
        )

    def handle(self, *args: Any, file: Path, publish: bool, no_route: bool, **options: Any) -> None:
        try:
            document = json.loads(file.read_text())
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error}") from error
        except json.JSONDecodeError as error:
            raise CommandError(f"{file} is not JSON: {error}") from error
        try:
            version = scoring_model_import(document=document)
        except DocumentError as error:
            lines = "\n".join(f"  {path}: {message}" for path, message in error.errors)
            raise CommandError(f"{file} is not a valid scoring model:\n{lines}") from error
        self.stdout.write(f"imported {version.name!r} as draft version {version.version}")
        if publish:
            run = scoring_model_publish(version_id=version.id, route=not no_route)
            run.refresh_from_db()
            self.stdout.write(
                f"published version {version.version}; rescore {run.state} ({run.done}/{run.total})"
            )
