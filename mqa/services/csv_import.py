"""Historical import from CSV files (`manage.py import_csv`): accounts, contacts, events,
signals and outcomes, through the same validation and services as the ingest API.

All or nothing: every row of every file is converted and validated first; a missing file or
any rejected row means nothing is stored (`skip_invalid` stores the valid rows and reports the
rest; a missing file still stores nothing). Storing runs in one transaction, so an error found
while storing (an outcome for a record that does not exist) also leaves the database as it was.
A contact's `created_at` from the mapping is set right after its upsert, in that transaction.
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
from contacts.models import Contact
from contacts.schemas import ContactIn, EventIn, clean_contact, event_cleaner
from contacts.services import contacts_upsert, events_ingest
from mqa.batch import BatchError, validate_batch
from mqa.imports.mapping import CellError, CsvMapping, Section, row_items, row_kept
from mqa.imports.report import ErrorGroup, MissingFile, RowError, errors_grouped
from mqa.services.handoffs import ImportedOutcomeIn, clean_outcome, handoff_outcomes_import

CHUNK = 1000

__all__ = ["ImportReport", "RowError", "csv_import"]


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

# (line, item, the contact's creation time when the mapping gives one)
Item = tuple[int, dict[str, Any], str | None]


@dataclass
class ImportReport:
    rows: dict[str, int] = field(default_factory=dict)
    filtered: dict[str, int] = field(default_factory=dict)  # rows left out by `where`
    results: dict[str, dict[str, int]] = field(default_factory=dict)
    missing: list[MissingFile] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)
    stored: bool = False

    @property
    def rejected_rows(self) -> int:
        """Rows of a section with at least one error."""
        return len({(e.section, e.file, e.row) for e in self.rejected})

    def groups(self) -> list[ErrorGroup]:
        return errors_grouped(self.rejected)


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
) -> list[Item]:
    """The section's kept rows as API items (with their line); counts rows read and filtered."""
    path = base_dir / section.file
    if not path.is_file():
        missing = MissingFile(section.file, str(path.parent.resolve()))
        if missing not in report.missing:  # one file may feed two sections
            report.missing.append(missing)
        return []
    items: list[Item] = []
    read = filtered = 0
    try:
        for line, row in _rows(path, section):
            read += 1
            if not row_kept(section, row):
                filtered += 1
                continue
            try:
                for item in row_items(section, row, mapping.timezone):
                    created = item.pop("created_at", None) if section.name == "contacts" else None
                    items.append((line, item, _moment(created)))
            except CellError as error:
                report.rejected.append(_error(section, line, error.field, str(error), error.value))
    except CellError as error:
        report.rejected.append(_error(section, 1, error.field, str(error), None))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        report.rejected.append(_error(section, 0, "file", str(error), None))
    report.rows[section.name] = read
    report.filtered[section.name] = filtered
    return items


def _moment(value: Any) -> str | None:
    """A contact's creation time: an ISO 8601 instant with an offset (a constant is checked)."""
    if value is None:
        return None
    try:
        aware = datetime.fromisoformat(str(value)).tzinfo is not None
    except ValueError:
        aware = False
    if not aware:
        raise CellError("created_at", "is not an ISO 8601 time with an offset", str(value))
    return str(value)


def _error(section: Section, row: int, name: str, message: str, value: Any) -> RowError:
    shown = None if value is None or isinstance(value, (dict, list)) else str(value)
    return RowError(section.file, row, name, message, shown, section.name)


def _refused(error: BatchError, section: Section, items: list[Item]) -> list[RowError]:
    refused = []
    for e in error.errors:
        line, item = (items[e.index][0], items[e.index][1]) if e.index is not None else (0, {})
        refused.append(_error(section, line, e.field, e.message, item.get(e.field)))
    return refused


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
    batches: list[tuple[Section, list[Item]]] = []
    for section in mapping.sections:
        target = TARGETS[section.name]
        items = _items(mapping, section, base_dir, report)
        try:
            validate_batch([item for _, item, _ in items], target.schema, target.cleaner(now))
        except BatchError as error:
            bad = _refused(error, section, items)
            report.rejected += bad
            lines = {e.row for e in bad}
            items = [i for i in items if i[0] not in lines]
        batches.append((section, items))
    if report.missing or (report.rejected and not skip_invalid):
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


def _store(section: Section, items: list[Item], report: ImportReport, skip: bool) -> None:
    target = TARGETS[section.name]
    total = report.results.setdefault(section.name, {})
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        while chunk:
            try:
                with transaction.atomic():
                    _add(total, target.store(items=[item for _, item, _ in chunk]))
                    if section.name == "contacts":
                        _contacts_created_at_set(chunk)
                break
            except BatchError as error:
                bad = _refused(error, section, chunk)
                report.rejected += bad
                if not skip:
                    raise _Rollback from error
                lines = {e.row for e in bad}
                chunk = [i for i in chunk if i[0] not in lines]


def _contacts_created_at_set(chunk: list[Item]) -> None:
    """Set the mapped creation time of the chunk's contacts (the earliest, if one repeats).

    `contacts_upsert` stamps `created_at` with the time of the call; a historical import knows
    better. The emails are normalised as the upsert did (the items were validated already).
    """
    dated = [(item, at) for _, item, at in chunk if at is not None]
    if not dated:
        return
    valid = validate_batch([item for item, _ in dated], ContactIn, clean_contact)
    earliest: dict[str, datetime] = {}
    for clean, (_, at) in zip(valid, dated, strict=True):
        moment = datetime.fromisoformat(at)
        if clean.email not in earliest or moment < earliest[clean.email]:
            earliest[clean.email] = moment
    stored = list(Contact.objects.filter(email__in=earliest).order_by("pk"))
    for contact in stored:
        contact.created_at = earliest[contact.email]
    Contact.objects.bulk_update(stored, ["created_at"])
