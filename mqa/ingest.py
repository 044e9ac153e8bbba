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

from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert of accounts, contacts or outcomes did (SPEC §7 `{"created", "updated"}`)."""

    created: int
    updated: int

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated}


@dataclass(frozen=True)
class ContactUpsertResult(UpsertResult):
    """A contact upsert; `suppressed` counts the items for erased addresses, not stored."""

    suppressed: int = 0

    def as_dict(self) -> dict[str, int]:
        return super().as_dict() | {"suppressed": self.suppressed}


@dataclass
class IngestResult:
    """What an ingest of events or signals did; `suppressed` counts the items for erased
    addresses (SPEC §7 *Erasure*), not stored (always 0 for account signals)."""

    accepted: int = 0
    duplicates: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    suppressed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "suppressed": self.suppressed,
        }


def ingest_once(
    *,
    table: type[Model],
    items: Sequence[Any],
    owner: str,
    owner_ids: Sequence[int],
) -> tuple[IngestResult, set[int]]:
    """Store the items not stored yet; returns the result and the owners of the rows stored.

    `owner_ids[i]` is the contact (or account) id of `items[i]`; a payload is compared as
    (owner, type, instant, properties). Only what the insert itself reports stored counts as
    accepted: a concurrent batch can store the same key between our read and our insert, and
    then ours is compared with what it stored (a duplicate or a conflict), never "accepted".

    On PostgreSQL the batch is staged with COPY and merged set-based (`_ingest_staged`); the
    row-by-row comparison below is the embedded (SQLite) path, with the same answers.
    """
    if connection.vendor == "postgresql":
        return _ingest_staged(table, items, owner, owner_ids)
    keys = {(item.source, item.id) for item in items}
    stored = _stored_payloads(table, owner, keys)
    payloads = [
        (owner_id, item.type, item.occurred_at, canonical(item.properties))
        for item, owner_id in zip(items, owner_ids, strict=True)
    ]
    # The first item of each key not stored yet is offered to the insert.
    offered: dict[tuple[str, str], tuple[Any, ...]] = {}
    rows = []
    for item, payload in zip(items, payloads, strict=True):
        key = (item.source, item.id)
        if key in stored or key in offered:
            continue
        offered[key] = payload
        rows.append(
            table(
                **{owner: payload[0]},
                type=item.type,
                occurred_at=item.occurred_at,
                properties=item.properties,
                source=item.source,
                external_id=item.id,
            )
        )
    inserted = insert_new(table, rows, unique=("source", "external_id")).keys()
    lost = offered.keys() - inserted
    if lost:  # stored by a concurrent batch after our read: compare with what it stored
        stored |= _stored_payloads(table, owner, lost)
    stored |= {key: offered[key] for key in inserted}

    result, owners, accepted = IngestResult(), set(), set()
    for index, (item, payload) in enumerate(zip(items, payloads, strict=True)):
        key = (item.source, item.id)
        if key in inserted and key not in accepted:
            accepted.add(key)
            owners.add(payload[0])
            result.accepted += 1
        elif stored.get(key) == payload:
            result.duplicates += 1
        else:
            # Also a key whose stored row vanished between the insert and the re-read (an
            # erasure): nothing of this item was stored, so it must not be told "accepted".
            result.conflicts.append({"index": index, "id": item.id})
    return result, owners


STAGE = "mqa_ingest_stage"


def _ingest_staged(
    table: type[Model], items: Sequence[Any], owner: str, owner_ids: Sequence[int]
) -> tuple[IngestResult, set[int]]:
    """`ingest_once` on PostgreSQL: COPY the batch into a session-local temporary table, then
    one `INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING` stores the first item of each key
    not stored yet and names exactly the rows it stored. Only when some item was not stored
    does one more query compare those with what is stored (a later statement, so it sees a
    row a concurrent batch committed first). No model instances: this is the ingest hot path.

    Payloads compare as jsonb text, which ignores key order and whitespace but keeps `1`,
    `1.0` and `true` apart, as `canonical` does.
    """
    meta = table._meta
    quote = connection.ops.quote_name
    owner_field = meta.get_field(owner)
    assert isinstance(owner_field, Field)
    name, owner_column = quote(meta.db_table), quote(owner_field.column)
    received = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # Temporary, so unlogged and private; emptied at commit, so a pooled session reuses it
        # — and emptied here too, for a second batch in the same transaction. One round trip.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (pos integer, owner_id bigint,"
            " type text, occurred_at timestamptz, properties jsonb, source text,"
            f" external_id text) ON COMMIT DELETE ROWS; DELETE FROM {STAGE}"
        )
        # psycopg's own COPY API bypasses Django's cursor wrapper: its errors are wrapped here,
        # as every statement's are, so that a session ended mid-COPY is retried (race_retried)
        # and answered like any other lost connection, not as a 5xx.
        with (
            connection.wrap_database_errors,
            cursor.copy(
                f"COPY {STAGE} (pos, owner_id, type, occurred_at, properties, source,"
                " external_id) FROM STDIN"
            ) as copy,
        ):
            for pos, (item, owner_id) in enumerate(zip(items, owner_ids, strict=True)):
                copy.write_row(
                    (
                        pos,
                        owner_id,
                        item.type,
                        item.occurred_at,
                        json.dumps(item.properties),
                        item.source,
                        item.id,
                    )
                )
        cursor.execute(
            f"INSERT INTO {name} ({owner_column}, type, occurred_at, properties, source,"
            " external_id, received_at)"
            " SELECT DISTINCT ON (source, external_id) owner_id, type, occurred_at, properties,"
            f" source, external_id, %s FROM {STAGE} ORDER BY source, external_id, pos"
            " ON CONFLICT (source, external_id) DO NOTHING"
            f" RETURNING source, external_id, {owner_column}",
            [received],
        )
        inserted = {(row[0], row[1]): row[2] for row in cursor.fetchall()}
        same: dict[int, bool] = {}
        if len(inserted) < len(items):
            cursor.execute(
                f"SELECT s.pos, coalesce(e.{owner_column} = s.owner_id AND e.type = s.type"
                " AND e.occurred_at = s.occurred_at"
                " AND e.properties::text = s.properties::text, false)"
                f" FROM {STAGE} s LEFT JOIN {name} e"
                " ON e.source = s.source AND e.external_id = s.external_id"
            )
            same = dict(cursor.fetchall())
    result, accepted = IngestResult(), set()
    for index, item in enumerate(items):
        key = (item.source, item.id)
        if key in inserted and key not in accepted:
            accepted.add(key)
            result.accepted += 1
        elif same[index]:
            result.duplicates += 1
        else:  # also a key whose stored row vanished meanwhile (an erasure): not stored
            result.conflicts.append({"index": index, "id": item.id})
    return result, set(inserted.values())


def _stored_payloads(
    table: type[Model], owner: str, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[Any, ...]]:
    if not keys:
        return {}
    sources = {source for source, _ in keys}
    ids = {id_ for _, id_ in keys}
    found = table._default_manager.filter(source__in=sources, external_id__in=ids).values_list(
        "source", "external_id", owner, "type", "occurred_at", "properties"
    )
    return {
        (row[0], row[1]): (*row[2:5], canonical(row[5]))
        for row in found
        if (row[0], row[1]) in keys
    }


INSERT_BATCH = 1000


def insert_new(
    table: type[Model], rows: Sequence[Model], unique: tuple[str, ...]
) -> dict[tuple[Any, ...], int]:
    """Insert the rows whose `unique` fields are free; returns the key → primary key of the
    rows it stored.

    `INSERT ... ON CONFLICT DO NOTHING RETURNING` (PostgreSQL, SQLite >= 3.35) names exactly
    the rows this statement stored; a row a concurrent transaction stored first is skipped (on
    PostgreSQL the insert waits for that transaction, so a re-read then sees its row).
    `bulk_create(ignore_conflicts=True)` cannot tell which rows those were, and a plain insert
    fails the whole batch on the first key a concurrent one took.
    """
    meta = table._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    column = {f.name: quote(f.column) for f in fields}
    key = ", ".join(column[name] for name in unique)
    stored: dict[tuple[Any, ...], int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            chunk = rows[start : start + INSERT_BATCH]
            params = [
                f.get_db_prep_save(f.pre_save(row, add=True), connection)
                for row in chunk
                for f in fields
            ]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) "
                f"VALUES {', '.join([placeholder] * len(chunk))} "
                f"ON CONFLICT ({key}) DO NOTHING "
                f"RETURNING {key}, {quote(meta.pk.column)}",
                params,
            )
            stored.update({tuple(row[:-1]): row[-1] for row in cursor.fetchall()})
    return stored


def rows_insert(
    table: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert `rows` (values of `fields`, in order) and return their primary keys, in order.

    PostgreSQL gets one array per column (`INSERT … SELECT FROM unnest(…)`): a thousand rows
    are one statement with as many parameters as columns, and no model instance is built.
    Elsewhere (SQLite) it is `bulk_create`.
    """
    if not rows:
        return []
    meta = table._meta
    if connection.vendor != "postgresql":
        created = table._default_manager.bulk_create(
            [table(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=1000
        )
        return [row.pk for row in created]
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    assert all(isinstance(field, Field) for field in columns)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in columns)  # type: ignore[union-attr]
    names = ", ".join(quote(field.column) for field in columns)  # type: ignore[union-attr,arg-type]
    aliases = [f"c{i}" for i in range(len(columns))]
    with connection.cursor() as cursor:
        # In the given order, so the keys returned line up with `rows` (as bulk_create's do).
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT {', '.join(aliases)}"
            f" FROM unnest({arrays}) WITH ORDINALITY AS t({', '.join(aliases)}, n) ORDER BY n"
            f" RETURNING {quote(meta.pk.column)}",
            [list(column) for column in zip(*rows, strict=True)],
        )
        return [row[0] for row in cursor.fetchall()]


def canonical(value: Any) -> str:
    """JSON text that tells `1`, `1.0`-as-written and `true` apart (Python's == does not)."""
    return json.dumps(value, sort_keys=True)


def same(left: Any, right: Any) -> bool:
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return canonical(left) == canonical(right)
    return (type(left) is type(right) and left == right) or (left is None and right is None)


def custom_merge(existing: dict[str, Any], merged: dict[str, dict[str, Any]]) -> None:
    """Turn each merged `custom` into the stored one with the new keys set (in place)."""
    for key, values in merged.items():
        row = existing.get(key)
        if row is not None and isinstance(values.get("custom"), dict):
            values["custom"] = {**(row.custom or {}), **values["custom"]}


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
