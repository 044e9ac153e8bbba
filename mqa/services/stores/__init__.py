"""Where scores are written: two stores with one contract (SPEC §3–§5).

* `records` scores record by record with the pure engine (`mqa.scoring`) — the reference,
  and the store SQLite uses;
* `sql` scores a whole scope in one statement compiled from the model (`mqa.bulk`) — the
  store PostgreSQL uses; property tests hold it equal to `records` in everything it writes.

Both take the same inputs — a `Scope` of contacts or accounts, the active model, the instant,
the cause — lock the score rows in primary-key order, rewrite them, append one history row
per status change (a compare-and-swap on the old status), and return those changes as
`Transition` values. They never announce: the caller hands the transitions to
`mqa.services.announce` in its own transaction. `mqa.services.scores` picks the store for
the database in use, once.

Store layer: imports models, `mqa.selectors` and the pure core; no service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from mqa.models import RecordKind
from mqa.selectors import ActiveModel


@dataclass(frozen=True)
class Scope:
    """The records a store rescores: exactly `ids`, or else every id with `lo < id <= hi`."""

    ids: tuple[int, ...] | None = None
    lo: int = 0
    hi: int = 0

    @classmethod
    def of(cls, ids: Iterable[int]) -> Scope:
        return cls(ids=tuple(sorted(set(ids))))

    @classmethod
    def between(cls, lo: int, hi: int) -> Scope:
        return cls(lo=lo, hi=hi)


@dataclass(frozen=True)
class Transition:
    """One status change a store made, as its history row states it."""

    kind: RecordKind
    record_id: int
    from_status: str
    to_status: str
    cause: str
    scores: dict[str, Any]


class Write(Protocol):
    def __call__(
        self,
        *,
        scope: Scope,
        active: ActiveModel,
        now: datetime,
        cause: str,
        skip_unchanged: bool = False,
    ) -> list[Transition]: ...


class Store(NamedTuple):
    """A store's two writes. Contacts first: accounts roll up the stored contact scores.

    With `skip_unchanged`, a row whose model version, status, scores and explanation come out
    as stored is not rewritten (a chunk of a full rescore redone after a worker died).
    """

    contacts: Write
    accounts: Write
    set_based: bool  # a whole scope per statement: large chunks pay off (see `rescore`)
