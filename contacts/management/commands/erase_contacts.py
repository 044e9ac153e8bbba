"""`manage.py erase_contacts EMAIL [EMAIL ...]` or `--file PATH` (one address a line, `-` for
stdin): erase the contacts and suppress the addresses (SPEC §7 *Erasure*)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.erasure import MAX_EMAILS, contacts_erase, emails_parse
from mqa.batch import Invalid


class Command(BaseCommand):
    help = (
        "Erase contacts by email: their events, scores and history are deleted, their "
        "addresses suppressed (later items for them are not stored)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("emails", nargs="*", metavar="EMAIL")
        parser.add_argument("--file", help="a file of addresses, one a line ('-': stdin)")
        parser.add_argument(
            "--actor", help="who asks, for the audit record (default: command:<OS user>)"
        )

    def handle(
        self, *args: Any, emails: list[str], file: str | None, actor: str | None, **options: Any
    ) -> None:
        values = list(emails)
        if file is not None:
            text = sys.stdin.read() if file == "-" else _read(file)
            values += [line.strip() for line in text.splitlines() if line.strip()]
        if not values:
            raise CommandError("give at least one EMAIL or --file")
        actor = actor or f"command:{getpass.getuser()}"
        parsed: list[str] = []  # all checked before anything is erased
        for start in range(0, len(values), MAX_EMAILS):
            try:
                parsed += emails_parse(values[start : start + MAX_EMAILS])
            except Invalid as error:
                index = int(error.field.partition("[")[2].rstrip("]") or 0) + start
                raise CommandError(f"address {index + 1}: {error}") from error
        erased = sum(
            contacts_erase(emails=parsed[start : start + MAX_EMAILS], actor=actor).erased
            for start in range(0, len(parsed), MAX_EMAILS)
        )
        self.stdout.write(f"erased {erased} contact(s); {len(set(parsed))} address(es) suppressed")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path}: {error}") from error
