"""The column-mapping document of `manage.py import_csv` (`mqa.csv-mapping/v1`), and turning
CSV rows into the items the ingest API takes. Pure: no Django.

```json
{
  "format": "mqa.csv-mapping/v1",
  "timezone": "UTC",
  "missing": ["Select", "N/A"],
  "contacts": {"file": "leads.csv", "columns": {
      "email": {"template": "{lead_id}@leads.example"},
      "lead_source": {"column": "origin", "map": {"Google": "paid_search"}},
      "country": {"column": "Country", "transform": "country"},
      "created_at": "first_contact_date",
      "custom.landing_page": "landing_page_id"}},
  "events": {"file": "leads.csv",
      "where": [{"column": "Lead Origin", "in": ["API", "Landing Page Submission"]}],
      "count": "TotalVisits",
      "columns": {
      "email": {"template": "{lead_id}@leads.example"}, "id": "lead_id",
      "type": {"value": "page_view"}, "occurred_at": "first_contact_date"}},
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
`timezone` they are an error, as at the API. A contact's `created_at` is when the lead was
created (stored on the contact, so a backtest knows who existed before its cut-off).

Transforms, on a `column` or `template`, applied in this order:
* `missing`: cells treated as empty (trimmed, ignoring case); the document's top-level
  `missing` applies to every column and to the `not_empty` filter.
* `map`: `{"from": "to"}`, an exact value map of the trimmed cell; unlisted values are kept,
  `null` makes the cell missing.
* `transform`: `"country"` turns country names, alpha-3 and common names into ISO 3166 alpha-2
  (pycountry); a name it does not know is a row error.

A section's `where` keeps only the rows matching every condition: `{"column": c, "equals": v}`,
`{"column": c, "in": [...]}`, `{"column": c, "not_in": [...]}` or `{"column": c, "not_empty":
true}` (on the trimmed cell). Events and signals may name a `count` column: each row becomes that
many items (0 when missing), their `id` suffixed `-1` … `-N`.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mqa.imports.transforms import TRANSFORMS, country_code
from mqa.scoring.attributes import ACCOUNT_FIELDS, CONTACT_FIELDS

FORMAT = "mqa.csv-mapping/v1"
SECTIONS = ("accounts", "contacts", "events", "signals", "outcomes")
FIELDS: dict[str, frozenset[str]] = {
    "accounts": ACCOUNT_FIELDS,
    "contacts": (CONTACT_FIELDS - {"email_domain"}) | {"account_domain", "created_at"},
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
COUNTED = ("events", "signals")
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
CONDITIONS = ("equals", "in", "not_in", "not_empty")
MAX_COUNT = 10_000  # events from one row: a guard against a mis-mapped column
SOURCE_KEYS = {"column", "template", "value"}
TRANSFORM_KEYS = {"missing", "map", "transform"}


class MappingError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class CellError(ValueError):
    """A cell that cannot become its field; `value` is the cell, for grouping and showing."""

    def __init__(self, field: str, message: str, value: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


@dataclass(frozen=True)
class Column:
    field: str
    column: str | None = None
    template: str | None = None
    value: Any = None
    type: str = "string"
    missing: frozenset[str] = frozenset()  # lower case, trimmed
    values: Mapping[str, str | None] = dataclasses.field(default_factory=dict)  # the `map`
    transform: str | None = None


@dataclass(frozen=True)
class Condition:
    column: str
    test: str  # one of CONDITIONS
    values: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Section:
    name: str
    file: str
    columns: tuple[Column, ...]
    where: tuple[Condition, ...] = ()
    count: str | None = None
    missing: frozenset[str] = frozenset()

    def headers(self) -> set[str]:
        """The CSV columns this section reads."""
        names = {c.column for c in self.columns if c.column}
        for c in self.columns:
            if c.template:
                names |= {n for _, n, _, _ in string.Formatter().parse(c.template) if n}
        names |= {c.column for c in self.where}
        if self.count:
            names.add(self.count)
        return names


@dataclass(frozen=True)
class CsvMapping:
    sections: tuple[Section, ...]
    timezone: ZoneInfo | None


def _strings(value: Any, path: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MappingError(path, "must be a list of strings")
    return frozenset(value)


def _transforms(spec: dict[str, Any], path: str, kind: str, missing: frozenset[str]) -> Any:
    if "value" in spec and spec.keys() & TRANSFORM_KEYS:
        key = sorted(spec.keys() & TRANSFORM_KEYS)[0]
        raise MappingError(f"{path}.{key}", "applies to a column or template, not a value")
    if "missing" in spec:
        missing |= {v.strip().lower() for v in _strings(spec["missing"], f"{path}.missing")}
    values: dict[str, str | None] = spec.get("map", {})
    if not isinstance(values, dict) or not all(
        v is None or isinstance(v, str) for v in values.values()
    ):
        raise MappingError(f"{path}.map", 'must map cell values to values or null: {"from": "to"}')
    transform = spec.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise MappingError(f"{path}.transform", f"must be one of {', '.join(TRANSFORMS)}")
    if transform is not None and kind != "string":
        raise MappingError(f"{path}.transform", f"{transform!r} makes text, not {kind}")
    return {"missing": missing, "values": dict(values), "transform": transform}


def _column(section: str, target: str, spec: Any, path: str, missing: frozenset[str]) -> Column:
    head, _, key = target.partition(".")
    if not (target in FIELDS[section] or (head == NESTED.get(section) and key)):
        raise MappingError(path, f"{section} have no field {target!r}")
    default = TYPED.get(target, "string")
    if isinstance(spec, str) and spec:
        return Column(target, column=spec, type=default, missing=missing)
    if not isinstance(spec, dict) or len(SOURCE_KEYS & spec.keys()) != 1:
        raise MappingError(path, "must be a column name or one of column / template / value")
    unknown = spec.keys() - SOURCE_KEYS - TRANSFORM_KEYS - {"type"}
    if unknown:
        raise MappingError(f"{path}.{sorted(unknown)[0]}", "unknown key")
    kind = spec.get("type", default)
    if kind not in TYPES:
        raise MappingError(f"{path}.type", f"must be one of {', '.join(TYPES)}")
    extra = _transforms(spec, path, kind, missing)
    if "template" in spec:
        try:
            fields = list(string.Formatter().parse(spec["template"]))
        except (ValueError, TypeError) as error:
            raise MappingError(f"{path}.template", f"is not a template: {error}") from None
        if any(name == "" or (name and not name.strip()) for _, name, _, _ in fields):
            raise MappingError(f"{path}.template", "names every column in braces")
        return Column(target, template=spec["template"], type=kind, **extra)
    if "column" in spec:
        if not isinstance(spec["column"], str) or not spec["column"]:
            raise MappingError(f"{path}.column", "must be a column name")
        return Column(target, column=spec["column"], type=kind, **extra)
    return Column(target, value=spec["value"], type=kind)


def _condition(spec: Any, path: str) -> Condition:
    if not isinstance(spec, dict) or not isinstance(spec.get("column"), str) or not spec["column"]:
        raise MappingError(f"{path}.column", "must be a column name")
    tests = spec.keys() - {"column"}
    if len(tests) != 1 or not tests <= set(CONDITIONS):
        raise MappingError(path, f"must have a column and one of {' / '.join(CONDITIONS)}")
    (test,) = tests
    if test == "not_empty":
        if spec[test] is not True:
            raise MappingError(f"{path}.not_empty", "must be true")
        return Condition(spec["column"], test)
    if test == "equals":
        if not isinstance(spec[test], str):
            raise MappingError(f"{path}.equals", "must be a string")
        return Condition(spec["column"], test, frozenset([spec[test]]))
    return Condition(spec["column"], test, _strings(spec[test], f"{path}.{test}"))


def _section(name: str, spec: Any, missing: frozenset[str]) -> Section:
    if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
        raise MappingError(f"{name}.file", "must name a CSV file")
    allowed = {"file", "columns", "where", *(["count"] if name in COUNTED else [])}
    if spec.keys() - allowed:
        raise MappingError(f"{name}.{sorted(spec.keys() - allowed)[0]}", "unknown key")
    columns = spec.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise MappingError(f"{name}.columns", "must map fields to columns")
    parsed = tuple(
        _column(name, target, value, f"{name}.columns.{target}", missing)
        for target, value in columns.items()
    )
    where = spec.get("where", [])
    if not isinstance(where, list):
        raise MappingError(f"{name}.where", "must be a list of conditions")
    conditions = tuple(_condition(c, f"{name}.where[{i}]") for i, c in enumerate(where))
    count = spec.get("count")
    if count is not None:
        if not isinstance(count, str) or not count:
            raise MappingError(f"{name}.count", "must be a column name")
        if not any(c.field == "id" and c.value is None for c in parsed):
            raise MappingError(f"{name}.count", "needs an id column (each item's id is suffixed)")
    return Section(name, spec["file"], parsed, conditions, count, missing)


def mapping_parse(document: Any) -> CsvMapping:
    """Validate a mapping document; errors name the path of the bad value."""
    if not isinstance(document, dict):
        raise MappingError("(document)", "must be a JSON object")
    if document.get("format") != FORMAT:
        raise MappingError("format", f"must be {FORMAT!r}")
    unknown = document.keys() - {"format", "timezone", "missing", *SECTIONS}
    if unknown:
        raise MappingError(sorted(unknown)[0], f"unknown key (sections: {', '.join(SECTIONS)})")
    zone = None
    if document.get("timezone") is not None:
        try:
            zone = ZoneInfo(str(document["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError("timezone", "is not an IANA time zone such as 'UTC'") from None
    missing = frozenset(v.strip().lower() for v in _strings(document.get("missing", []), "missing"))
    sections = [_section(name, document[name], missing) for name in SECTIONS if name in document]
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
        kind = "an integer" if column.type == "int" else "a number"
        raise CellError(column.field, f"is not {kind}", raw) from None
    if column.type == "bool":
        if text.lower() in TRUE | FALSE:
            return text.lower() in TRUE
        raise CellError(column.field, "is not a boolean (true/false, yes/no, 1/0)", raw)
    if column.type == "datetime":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise CellError(column.field, "is not an ISO 8601 date or time", raw) from None
        if moment.tzinfo is None:
            if zone is None:
                raise CellError(
                    column.field, 'has no time zone (set "timezone" in the mapping)', raw
                )
            moment = moment.replace(tzinfo=zone)
        return moment.isoformat()
    return raw


def _cell(column: Column, raw: str) -> str | None:
    """The cell after `missing`, `map` and `transform`; None when it counts as empty."""
    text = raw.strip()
    if text == "" or text.lower() in column.missing:
        return None
    mapped = column.values.get(text, raw)
    if mapped is None or mapped.strip() == "":
        return None
    if column.transform == "country":
        code = country_code(mapped)
        if code is None:
            raise CellError(column.field, "is not a country name or ISO 3166 code", mapped.strip())
        return code
    return mapped


def row_kept(section: Section, row: Mapping[str, str | None]) -> bool:
    """Whether the row passes every condition of the section's `where`."""
    for condition in section.where:
        text = (row.get(condition.column) or "").strip()
        if condition.test == "not_empty":
            if text == "" or text.lower() in section.missing:
                return False
        elif (text in condition.values) != (condition.test in ("equals", "in")):
            return False
    return True


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
            cell = _cell(column, raw)
            if cell is None:
                continue
            value = _typed(column, cell, zone)
        head, _, key = column.field.partition(".")
        if key and head == NESTED.get(section.name):
            item.setdefault(head, {})[key] = value
        else:
            item[column.field] = value
    return item


def row_items(
    section: Section, row: Mapping[str, str | None], zone: ZoneInfo | None
) -> list[dict[str, Any]]:
    """The row's items: one, or with a `count` column that many (ids suffixed -1 … -N)."""
    item = row_item(section, row, zone)
    if section.count is None:
        return [item]
    raw = (row.get(section.count) or "").strip()
    if raw == "" or raw.lower() in section.missing:
        return []
    try:
        number = float(raw)
    except ValueError:
        number = -1.0
    if not number.is_integer() or not 0 <= number <= MAX_COUNT:
        raise CellError("count", f"is not a whole number from 0 to {MAX_COUNT:,}", raw)
    if "id" not in item:  # refused by validation, once
        return [item] if number else []
    return [item | {"id": f"{item['id']}-{n}"} for n in range(1, int(number) + 1)]
