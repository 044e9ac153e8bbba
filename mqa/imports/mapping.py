"""The column-mapping document of `manage.py import_csv` (`mqa.csv-mapping/v1`), and turning
CSV rows into the items the ingest API takes. Pure: no Django.

```json
{
  "format": "mqa.csv-mapping/v1",
  "timezone": "UTC",
  "contacts": {"file": "leads.csv", "columns": {
      "email": {"template": "{lead_id}@leads.example"},
      "lead_source": "origin",
      "custom.landing_page": "landing_page_id"}},
  "events": {"file": "leads.csv", "columns": {
      "email": {"template": "{lead_id}@leads.example"}, "id": "lead_id",
      "type": {"value": "first_contact"}, "occurred_at": "first_contact_date",
      "properties.landing_page": "landing_page_id"}},
  "outcomes": {"file": "deals.csv", "columns": {
      "email": {"template": "{lead_id}@leads.example"}, "outcome": {"value": "won"},
      "at": "won_date"}}
}
```

Sections (each optional, imported in this order): `accounts`, `contacts`, `events`, `signals`,
`outcomes`. A section names its `file` (relative to the mapping file) and maps each target field
to a column name, `{"column": name, "type": t}`, `{"template": "...{column}..."}` or
`{"value": constant}`. Types: `string` (default), `int`, `number`, `bool`, `datetime`; the typed
fields of SPEC §2 (`employee_count`, `annual_revenue`, `is_target`, timestamps) get their type
without saying so. `custom.<key>` and `properties.<key>` fill those objects. An empty cell leaves
the field out. Timestamps without an offset are read in the mapping's `timezone`; with no
`timezone` they are an error, as at the API.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mqa.scoring.attributes import ACCOUNT_FIELDS, CONTACT_FIELDS

FORMAT = "mqa.csv-mapping/v1"
SECTIONS = ("accounts", "contacts", "events", "signals", "outcomes")
FIELDS: dict[str, frozenset[str]] = {
    "accounts": ACCOUNT_FIELDS,
    "contacts": (CONTACT_FIELDS - {"email_domain"}) | {"account_domain"},
    "events": frozenset(["email", "type", "occurred_at", "source", "id"]),
    "signals": frozenset(["account_domain", "type", "occurred_at", "source", "id"]),
    "outcomes": frozenset(["email", "domain", "outcome", "at", "created_at", "accepted_at"]),
}
NESTED = {
    "accounts": "custom",
    "contacts": "custom",
    "events": "properties",
    "signals": "properties",
}
TYPES = ("string", "int", "number", "bool", "datetime")
TYPED = {
    "employee_count": "int",
    "annual_revenue": "number",
    "is_target": "bool",
    "occurred_at": "datetime",
    "at": "datetime",
    "created_at": "datetime",
    "accepted_at": "datetime",
}
TRUE, FALSE = {"true", "t", "yes", "y", "1"}, {"false", "f", "no", "n", "0"}


class MappingError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class CellError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Column:
    field: str
    column: str | None = None
    template: str | None = None
    value: Any = None
    type: str = "string"


@dataclass(frozen=True)
class Section:
    name: str
    file: str
    columns: tuple[Column, ...]

    def headers(self) -> set[str]:
        """The CSV columns this section reads."""
        names = {c.column for c in self.columns if c.column}
        for c in self.columns:
            if c.template:
                names |= {n for _, n, _, _ in string.Formatter().parse(c.template) if n}
        return names


@dataclass(frozen=True)
class CsvMapping:
    sections: tuple[Section, ...]
    timezone: ZoneInfo | None


def _column(section: str, target: str, spec: Any, path: str) -> Column:
    head, _, key = target.partition(".")
    if not (target in FIELDS[section] or (head == NESTED.get(section) and key)):
        raise MappingError(path, f"{section} have no field {target!r}")
    default = TYPED.get(target, "string")
    if isinstance(spec, str) and spec:
        return Column(target, column=spec, type=default)
    if not isinstance(spec, dict) or len({"column", "template", "value"} & spec.keys()) != 1:
        raise MappingError(path, "must be a column name or one of column / template / value")
    unknown = spec.keys() - {"column", "template", "value", "type"}
    if unknown:
        raise MappingError(f"{path}.{sorted(unknown)[0]}", "unknown key")
    kind = spec.get("type", default)
    if kind not in TYPES:
        raise MappingError(f"{path}.type", f"must be one of {', '.join(TYPES)}")
    if "template" in spec:
        try:
            fields = list(string.Formatter().parse(spec["template"]))
        except (ValueError, TypeError) as error:
            raise MappingError(f"{path}.template", f"is not a template: {error}") from None
        if any(name == "" or (name and not name.strip()) for _, name, _, _ in fields):
            raise MappingError(f"{path}.template", "names every column in braces")
        return Column(target, template=spec["template"], type=kind)
    if "column" in spec:
        if not isinstance(spec["column"], str) or not spec["column"]:
            raise MappingError(f"{path}.column", "must be a column name")
        return Column(target, column=spec["column"], type=kind)
    return Column(target, value=spec["value"], type=kind)


def mapping_parse(document: Any) -> CsvMapping:
    """Validate a mapping document; errors name the path of the bad value."""
    if not isinstance(document, dict):
        raise MappingError("(document)", "must be a JSON object")
    if document.get("format") != FORMAT:
        raise MappingError("format", f"must be {FORMAT!r}")
    unknown = document.keys() - {"format", "timezone", *SECTIONS}
    if unknown:
        raise MappingError(sorted(unknown)[0], f"unknown key (sections: {', '.join(SECTIONS)})")
    zone = None
    if document.get("timezone") is not None:
        try:
            zone = ZoneInfo(str(document["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError("timezone", "is not an IANA time zone such as 'UTC'") from None
    sections = []
    for name in SECTIONS:
        if name not in document:
            continue
        spec = document[name]
        if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
            raise MappingError(f"{name}.file", "must name a CSV file")
        if spec.keys() - {"file", "columns"}:
            raise MappingError(
                f"{name}.{sorted(spec.keys() - {'file', 'columns'})[0]}", "unknown key"
            )
        columns = spec.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise MappingError(f"{name}.columns", "must map fields to columns")
        parsed = tuple(
            _column(name, target, value, f"{name}.columns.{target}")
            for target, value in columns.items()
        )
        sections.append(Section(name, spec["file"], parsed))
    if not sections:
        raise MappingError("(document)", f"maps none of {', '.join(SECTIONS)}")
    return CsvMapping(tuple(sections), zone)


def _typed(column: Column, raw: str, zone: ZoneInfo | None) -> Any:
    text = raw.strip()
    try:
        if column.type == "int":
            return int(text)
        if column.type == "number":
            return float(text)
    except ValueError:
        raise CellError(
            column.field, f"{raw!r} is not a{'n integer' if column.type == 'int' else ' number'}"
        ) from None
    if column.type == "bool":
        if text.lower() in TRUE | FALSE:
            return text.lower() in TRUE
        raise CellError(column.field, f"{raw!r} is not a boolean (true/false, yes/no, 1/0)")
    if column.type == "datetime":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise CellError(column.field, f"{raw!r} is not an ISO 8601 date or time") from None
        if moment.tzinfo is None:
            if zone is None:
                raise CellError(column.field, 'has no time zone (set "timezone" in the mapping)')
            moment = moment.replace(tzinfo=zone)
        return moment.isoformat()
    return raw


def row_item(
    section: Section, row: Mapping[str, str | None], zone: ZoneInfo | None
) -> dict[str, Any]:
    """One CSV row as an API item of its section; empty cells leave their field out."""
    item: dict[str, Any] = {}
    for column in section.columns:
        if column.value is not None or (column.column is None and column.template is None):
            value = column.value
        else:
            if column.template is not None:
                names = [n for _, n, _, _ in string.Formatter().parse(column.template) if n]
                if any(not (row.get(n) or "").strip() for n in names):
                    continue
                raw = column.template.format_map({k: v or "" for k, v in row.items()})
            else:
                raw = row.get(column.column or "") or ""
            if raw.strip() == "":
                continue
            value = _typed(column, raw, zone)
        head, _, key = column.field.partition(".")
        if key and head == NESTED.get(section.name):
            item.setdefault(head, {})[key] = value
        else:
            item[column.field] = value
    return item
