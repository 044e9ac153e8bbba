"""`manage.py create_api_key NAME --scopes read,ingest,feedback,admin`: prints the key last."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mqa.services.api_keys import SCOPES, api_key_create


class Command(BaseCommand):
    help = "Create an API key; only its hash is stored, so copy the printed key now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--scopes", default="read", help=f"comma-separated, from {','.join(SCOPES)}"
        )

    def handle(self, *args: Any, name: str, scopes: str, **options: Any) -> None:
        try:
            key, secret = api_key_create(name=name, scopes=scopes.split(","))
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"created API key {key.name!r} with scopes {','.join(key.scopes)}")
        self.stdout.write(secret)
