"""Whole-batch validation for every ingest entry point (SPEC §7: any bad item → nothing stored).

Items are checked with msgspec Structs rather than DRF serializers: ingest is the hot path and
msgspec validates a thousand items in well under a millisecond each, with typed fields that are
never coerced (`"5"` is not an int, `1` is not a bool), as SPEC §2 requires.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)

_AT_PATH = re.compile(r"at `\$\.([^`\[]+)")
_NAMED = re.compile(r"field `([^`]+)`")


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class BatchError(ValueError):
    """Raised with every problem of a batch; nothing of the batch has been stored."""

    def __init__(self, errors: list[ItemError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"[{e.index}].{e.field}: {e.message}" for e in errors[:5]))

    def as_list(self) -> list[dict[str, Any]]:
        return [error.as_dict() for error in self.errors]


class Invalid(ValueError):
    """A cleaning step's complaint about one field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def _field_of(error: msgspec.ValidationError) -> str:
    text = str(error)
    match = _AT_PATH.search(text) or _NAMED.search(text)
    return match.group(1) if match else "item"


def _message_of(error: msgspec.ValidationError) -> str:
    return str(error).split(" - at `")[0]


def has_nul(value: Any) -> bool:
    """PostgreSQL text and jsonb cannot hold NUL characters, so they are refused up front."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def validate_batch(items: Iterable[Any], schema: type[S], clean: Callable[[S], S]) -> list[S]:
    """Convert each item to `schema`, then `clean` it; raise `BatchError` if any item fails."""
    valid: list[S] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(ItemError(index, "item", "must be an object"))
            continue
        nul = next((key for key, value in item.items() if has_nul(key) or has_nul(value)), None)
        if nul is not None:
            errors.append(ItemError(index, str(nul), "must not contain NUL (\\u0000) characters"))
            continue
        try:
            valid.append(clean(msgspec.convert(item, schema)))
        except msgspec.ValidationError as error:
            errors.append(ItemError(index, _field_of(error), _message_of(error)))
        except Invalid as error:
            errors.append(ItemError(index, error.field, str(error)))
    if errors:
        raise BatchError(errors)
    return valid


def set_fields(item: msgspec.Struct, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields an item actually carries (absent ones are left alone by partial upserts)."""
    return {
        name: getattr(item, name)
        for name in item.__struct_fields__
        if name not in exclude and getattr(item, name) is not msgspec.UNSET
    }


def merge_by_key(items: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Items with the same key apply in order: later fields win (SPEC §2)."""
    merged: dict[str, dict[str, Any]] = {}
    for key, fields in items:
        merged.setdefault(key, {}).update(fields)
    return merged


def clean_text(item: msgspec.Struct, names: Iterable[str]) -> None:
    """Trim string fields in place; a blank string is stored as null (it is *missing* anyway)."""
    for name in names:
        value = getattr(item, name)
        if isinstance(value, str):
            setattr(item, name, value.strip() or None)
