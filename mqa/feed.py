"""Change feeds: records in the order their changes committed, each change served once
(what a reverse-ETL job polls: `GET /api/v1/{contacts,accounts,handoffs}?updated_since=`).

Every write of a score row (contacts, accounts) and of a handoff stamps the row's
`feed_position` in the database itself (a trigger, so that no write path can forget it):

* PostgreSQL: the id of the writing transaction (`pg_current_xact_id()`). A feed serves only
  positions below the oldest transaction still running (`pg_snapshot_xmin`): every
  transaction below it has ended, so no row can later appear behind a position already
  served. Rows of one transaction share a position and are told apart by their key.
* SQLite (the embedded quickstart): a counter bumped per written row; one writer at a time
  commits them in order.

A page is the next `limit` rows after a position (`FeedCursor`), ordered by (position, key);
its `next` cursor is always given: at the end of the feed it is where to poll again. A record
changed again after it was served comes again, once, at its new position. Positions are not
indexed on purpose: an indexed column that every rescore rewrites would make each of those
updates a non-HOT one (new entries in every index of the table); a page scans the table.

Ground layer: Django's database only.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL

from mqa.batch import Invalid

M = TypeVar("M", bound=models.Model)

# Tables stamped, with their primary key column.
STAMPED = {"mqa_contactscore": "contact_id", "mqa_accountscore": "account_id", "mqa_handoff": "id"}
_OLDEST_RUNNING = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


@dataclass(frozen=True)
class FeedCursor:
    """Where a client stands in a feed: after (`position`, `key`)."""

    position: int = -1
    key: int = 0

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.position}.{self.key}".encode()).decode()

    @classmethod
    def decode(cls, text: str | None) -> FeedCursor:
        if not text:
            return cls()
        try:
            position, key = base64.urlsafe_b64decode(text.encode()).decode().split(".")
            return cls(int(position), int(key))
        except (binascii.Error, UnicodeError, ValueError) as error:
            raise Invalid("cursor", "invalid cursor") from error


def feed_page(
    rows: QuerySet[M], *, position: str, key: str, after: FeedCursor, limit: int
) -> tuple[list[M], FeedCursor]:
    """The next `limit` rows of `rows` after `after` whose changes have settled, and the
    cursor after the last of them (`after` itself when there are none)."""
    rows = rows.filter(
        Q(**{f"{position}__gt": after.position})
        | Q(**{position: after.position, f"{key}__gt": after.key})
    )
    if connection.vendor == "postgresql":
        rows = rows.annotate(_settled=RawSQL(_OLDEST_RUNNING, [])).filter(
            **{f"{position}__lt": F("_settled")}
        )
    page = list(rows.order_by(position, key)[:limit])
    if not page:
        return page, after
    last = page[-1]
    return page, FeedCursor(_value(last, position), _value(last, key))


def _value(row: Any, path: str) -> int:
    for part in path.split("__"):
        row = getattr(row, part)
    return int(row)


def stamping_sql(vendor: str) -> list[str]:
    """The statements that make the database stamp `feed_position` on every write."""
    if vendor == "postgresql":
        statements = [
            """CREATE OR REPLACE FUNCTION mqa_feed_position() RETURNS trigger
               LANGUAGE plpgsql AS $$
               BEGIN NEW.feed_position := pg_current_xact_id()::text::bigint; RETURN NEW; END $$"""
        ]
        for table in STAMPED:
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_feed ON {table}",
                f"""CREATE TRIGGER {table}_feed BEFORE INSERT OR UPDATE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION mqa_feed_position()""",
            ]
    else:
        statements = [
            "CREATE TABLE IF NOT EXISTS mqa_feed_clock "
            "(id integer PRIMARY KEY CHECK (id = 1), value integer NOT NULL)",
            "INSERT OR IGNORE INTO mqa_feed_clock (id, value) VALUES (1, 0)",
        ]
        for table, pk in STAMPED.items():
            stamp = f"""BEGIN
                UPDATE mqa_feed_clock SET value = value + 1 WHERE id = 1;
                UPDATE {table} SET feed_position = (SELECT value FROM mqa_feed_clock WHERE id = 1)
                WHERE {pk} = NEW.{pk};
              END"""
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_feed_insert",
                f"CREATE TRIGGER {table}_feed_insert AFTER INSERT ON {table} {stamp}",
                f"DROP TRIGGER IF EXISTS {table}_feed_update",
                # Its own UPDATE does not fire it again: SQLite's recursive_triggers is off.
                f"CREATE TRIGGER {table}_feed_update AFTER UPDATE ON {table} {stamp}",
            ]
    # Rows written before the stamping started get a position now.
    return statements + [f"UPDATE {table} SET feed_position = NULL" for table in STAMPED]


def unstamping_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {t}_feed ON {t}" for t in STAMPED] + [
            "DROP FUNCTION IF EXISTS mqa_feed_position()"
        ]
    return [
        f"DROP TRIGGER IF EXISTS {t}_feed_{when}" for t in STAMPED for when in ("insert", "update")
    ] + ["DROP TABLE IF EXISTS mqa_feed_clock"]
