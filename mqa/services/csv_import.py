"""Historical import from CSV files (`manage.py import_csv`): accounts, contacts, events,
signals and outcomes, through the same validation and services as the ingest API.

All or nothing: every row of every file is converted and validated first; any rejected row
means nothing is stored (unless `skip_invalid`, which stores the valid rows and reports the
rest). Storing runs in one transaction, so an error found while storing (an outcome for a
record that does not exist) also leaves the database as it was.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.schemas import AccountIn, SignalIn, clean_account, signal_cleaner
from accounts.services import accounts_upsert, signals_ingest
from contacts.schemas import ContactIn, EventIn, clean_contact, event_cleaner
from contacts.services import contacts_upsert, events_ingest
from mqa.batch import BatchError, validate_batch
from mqa.imports.mapping import CellError, CsvMapping, Section, row_item
from mqa.services.handoffs import ImportedOutcomeIn, clean_outcome, handoff_outcomes_import

CHUNK = 1000


@dataclass(frozen=True)
class Target:
    schema: type
    cleaner: Callable[[datetime], Callable[[Any], Any]]
    store: Callable[..., Any]


TARGETS = {
    "accounts": Target(AccountIn, lambda now: clean_account, accounts_upsert),
    "contacts": Target(ContactIn, lambda now: clean_contact, contacts_upsert),
    "events": Target(EventIn, event_cleaner, events_ingest),
    "signals": Target(SignalIn, signal_cleaner, signals_ingest),
    "outcomes": Target(ImportedOutcomeIn, lambda now: clean_outcome, handoff_outcomes_import),
}


@dataclass(frozen=True)
class RowError:
    file: str
    row: int  # the line of the CSV file (the header is row 1)
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    rows: dict[str, int] = field(default_factory=dict)
    results: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected: list[RowError] = field(default_factory=list)
    stored: bool = False


class _Rollback(Exception):
    pass


def _rows(path: Path, section: Section) -> Iterator[tuple[int, dict[str, str | None]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        absent = sorted(section.headers() - set(reader.fieldnames or ()))
        if absent:
            raise CellError(absent[0], "is not a column of the file")
        for row in reader:
            yield reader.line_num, row


def _items(
    mapping: CsvMapping, section: Section, base_dir: Path, report: ImportReport
) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """The section's rows as API items (with their line), and how many rows were read."""
    path = base_dir / section.file
    items: list[tuple[int, dict[str, Any]]] = []
    read = 0
    try:
        for line, row in _rows(path, section):
            read += 1
            try:
                items.append((line, row_item(section, row, mapping.timezone)))
            except CellError as error:
                report.rejected.append(RowError(section.file, line, error.field, str(error)))
    except CellError as error:
        report.rejected.append(RowError(section.file, 1, error.field, str(error)))
    except OSError as error:
        report.rejected.append(RowError(section.file, 0, "file", error.strerror or str(error)))
    return items, read


def _refused(error: BatchError, section: Section, lines: list[int]) -> list[RowError]:
    return [
        RowError(section.file, lines[e.index] if e.index is not None else 0, e.field, e.message)
        for e in error.errors
    ]


def _add(total: dict[str, int], result: Any) -> None:
    for key, value in result.as_dict().items():
        total[key] = total.get(key, 0) + (len(value) if isinstance(value, list) else value)


def csv_import(
    *,
    mapping: CsvMapping,
    base_dir: Path,
    skip_invalid: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    now = now or timezone.now()
    report = ImportReport()
    batches: list[tuple[Section, list[tuple[int, dict[str, Any]]]]] = []
    for section in mapping.sections:
        target = TARGETS[section.name]
        items, read = _items(mapping, section, base_dir, report)
        report.rows[section.name] = read
        try:
            validate_batch([item for _, item in items], target.schema, target.cleaner(now))
        except BatchError as error:
            bad = _refused(error, section, [line for line, _ in items])
            report.rejected += bad
            lines = {e.row for e in bad}
            items = [(line, item) for line, item in items if line not in lines]
        batches.append((section, items))
    if report.rejected and not skip_invalid:
        return report
    try:
        with transaction.atomic():
            for section, items in batches:
                _store(section, items, report, skip_invalid)
            if report.rejected and not skip_invalid:
                raise _Rollback
    except _Rollback:
        report.results = {}
        return report
    report.stored = True
    return report


def _store(
    section: Section, items: list[tuple[int, dict[str, Any]]], report: ImportReport, skip: bool
) -> None:
    target = TARGETS[section.name]
    total = report.results.setdefault(section.name, {})
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        while chunk:
            try:
                with transaction.atomic():
                    _add(total, target.store(items=[item for _, item in chunk]))
                break
            except BatchError as error:
                bad = _refused(error, section, [line for line, _ in chunk])
                report.rejected += bad
                if not skip:
                    raise _Rollback from error
                lines = {e.row for e in bad}
                chunk = [(line, item) for line, item in chunk if line not in lines]
