"""`field__any=[...]`: membership in a list, passed to PostgreSQL as one array parameter.

`field__in=[...]` sends one placeholder per value; for the thousand-item lists of an ingest
batch, building and parsing that statement costs more than running it (psycopg splits the
query text per placeholder). `= ANY(%s)` sends the list as a single array. Elsewhere (SQLite)
it is `IN`, with the same answers.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Lookup
from django.db.models.lookups import In


class AnyOf(Lookup):  # type: ignore[type-arg]
    lookup_name = "any"
    prepare_rhs = False  # the list is one value; `In` prepares its items itself

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sql, params = In(self.lhs, list(self.rhs)).as_sql(compiler, connection)
        return sql, list(params)

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]
