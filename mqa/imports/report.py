"""What an import found wrong, grouped for a person to act on. Pure: no Django.

Rejected rows are grouped by file, field and message — the same mistake on 6,779 rows is one
line with its count, its first rows and its most common values — biggest group first. Missing
files are listed apart (before the groups) with the folder that was searched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

FIRST_ROWS = 5
TOP_VALUES = 3


@dataclass(frozen=True)
class RowError:
    file: str
    row: int  # the line of the CSV file (the header is row 1)
    field: str
    message: str
    value: str | None = None  # the offending cell, when there is one
    section: str = ""


@dataclass(frozen=True)
class MissingFile:
    file: str
    folder: str

    def __str__(self) -> str:
        return f"missing file: {self.file} (searched {self.folder})"


@dataclass(frozen=True)
class ErrorGroup:
    file: str
    field: str
    message: str
    rows: int
    first: tuple[int, ...]
    values: tuple[tuple[str, int], ...]  # the most common offending values, with their counts
    more_values: bool

    def __str__(self) -> str:
        first = ", ".join(str(r) for r in self.first) + (
            ", …" if self.rows > len(self.first) else ""
        )
        text = (
            f"{self.file}: {self.field}: {self.message} — {self.rows:,} "
            f"{'row' if self.rows == 1 else 'rows'} (first: {first})"
        )
        if self.values:
            shown = ", ".join(f"{v!r} ({n:,})" for v, n in self.values)
            text += f"; values: {shown}{', …' if self.more_values else ''}"
        return text


def errors_grouped(errors: Iterable[RowError]) -> list[ErrorGroup]:
    """One group per (file, field, message): biggest first, then by file, field and message."""
    rows: dict[tuple[str, str, str], list[int]] = {}
    values: dict[tuple[str, str, str], Counter[str]] = {}
    for error in errors:
        key = (error.file, error.field, error.message)
        rows.setdefault(key, []).append(error.row)
        counter = values.setdefault(key, Counter())
        if error.value is not None:
            counter[error.value] += 1
    groups = []
    for key, lines in rows.items():
        distinct = sorted(set(lines))
        common = values[key].most_common()
        groups.append(
            ErrorGroup(
                *key,
                rows=len(lines),
                first=tuple(distinct[:FIRST_ROWS]),
                values=tuple(common[:TOP_VALUES]),
                more_values=len(common) > TOP_VALUES,
            )
        )
    return sorted(groups, key=lambda g: (-g.rows, g.file, g.field, g.message))
