"""Shared ingest steps and their results: idempotent event/signal storage and partial upserts
(SPEC §2, §5). Ground layer: imports models only, never a service.

Re-sending an event with the same payload is a duplicate (ignored); with a different payload it
is a conflict (reported; the stored event wins). The same holds within one batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Model

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert of accounts, contacts or outcomes did (SPEC §7 `{"created", "updated"}`)."""

    created: int
    updated: int

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated}


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
        }


def ingest_once(
    *,
    table: type[Model],
    items: Sequence[Any],
    owner: str,
    owner_ids: Sequence[int],
) -> tuple[IngestResult, set[int]]:
    """Store the items not stored yet; returns the result and the owners of the new rows.

    `owner_ids[i]` is the contact (or account) id of `items[i]`; a payload is compared as
    (owner, type, instant, properties).
    """
    result = IngestResult()
    keys = {(item.source, item.id) for item in items}
    stored: dict[tuple[str, str], tuple[Any, ...]] = {}
    sources = {source for source, _ in keys}
    ids = {id_ for _, id_ in keys}
    for row in table._default_manager.filter(source__in=sources, external_id__in=ids).values_list(
        "source", "external_id", owner, "type", "occurred_at", "properties"
    ):
        if (row[0], row[1]) in keys:
            stored[(row[0], row[1])] = (*row[2:5], canonical(row[5]))
    new_rows, owners = [], set()
    for index, (item, owner_id) in enumerate(zip(items, owner_ids, strict=True)):
        key = (item.source, item.id)
        payload = (owner_id, item.type, item.occurred_at, canonical(item.properties))
        prior = stored.get(key)
        if prior is None:
            stored[key] = payload
            new_rows.append(
                table(
                    **{owner: owner_id},
                    type=item.type,
                    occurred_at=item.occurred_at,
                    properties=item.properties,
                    source=item.source,
                    external_id=item.id,
                )
            )
            owners.add(owner_id)
        elif prior == payload:
            result.duplicates += 1
        else:
            result.conflicts.append({"index": index, "id": item.id})
    # ignore_conflicts: a concurrent batch that stored the same key first wins, as it should.
    table._default_manager.bulk_create(new_rows, ignore_conflicts=True, batch_size=1000)
    result.accepted = len(new_rows)
    return result, owners


def canonical(value: Any) -> str:
    """JSON text that tells `1`, `1.0`-as-written and `true` apart (Python's == does not)."""
    return json.dumps(value, sort_keys=True)


def same(left: Any, right: Any) -> bool:
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return canonical(left) == canonical(right)
    return (type(left) is type(right) and left == right) or (left is None and right is None)


def apply_changes(
    existing: dict[str, M], merged: dict[str, dict[str, Any]]
) -> tuple[list[M], set[str]]:
    """Set the merged fields on existing rows; returns the rows and fields that changed."""
    changed, fields = [], set()
    for key, values in merged.items():
        row = existing.get(key)
        if row is None:
            continue
        diff = {name for name, value in values.items() if not same(getattr(row, name), value)}
        if diff:
            for name in diff:
                setattr(row, name, values[name])
            changed.append(row)
            fields |= diff
    return changed, fields
