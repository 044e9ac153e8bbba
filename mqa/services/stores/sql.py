"""The set-based store, on PostgreSQL: one statement per scope computes, stores and records.

A scope of contacts (then accounts), by primary key range (a full rescore's chunk) or a list
of ids (a pipeline batch), is scored by the SQL that `mqa.bulk.compiler` makes of the model:
lock the score rows (`FOR UPDATE`, pk order), then one statement updates them beside their
old statuses and appends a history row for every status change, returned as transitions.

With `skip_unchanged` (the full rescore), a row whose model version, status, scores and
explanation come out as stored is not rewritten (a chunk redone after a worker died, a run
resumed). Every row a publish's rescore computes under the new version is written, so each
score states the model version that produced it (SPEC §3). Pipeline batches rewrite every row
they score, so `computed_at` keeps telling clients that fresh data was taken into account.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Model

from mqa.bulk.compiler import account_scores_sql, contact_scores_sql, in_scope
from mqa.bulk.conditions import Sql
from mqa.models import RecordKind, StatusChange
from mqa.models.scores import SCORED, ScoreStamp, computed_fields, is_list, is_number
from mqa.selectors import ActiveModel
from mqa.services.stores import Scope, Store, Transition, Write


def _default(field: models.Field) -> str:
    value = field.get_default()
    if value is None:
        return "NULL"
    return f"'{json.dumps(value)}'::jsonb" if isinstance(field, models.JSONField) else str(value)


def _object(columns: list[str]) -> str:
    """A jsonb object of the new row's columns, keyed by their names."""
    return "jsonb_build_object(" + ", ".join(f"'{c}', n.{c}" for c in columns) + ")"


def _spec(scores: type[ScoreStamp], history: type[StatusChange]) -> dict[str, str]:
    """How a kind's score columns are set, defaulted, compared and recorded, derived from its
    score table (`computed_fields`) — the compiler names its output columns the same."""
    records = cast(type[Model], scores._meta.pk.related_model)  # the scored table
    fields = computed_fields(scores)
    columns = [f.column for f in fields]
    numbers = [f.column for f in fields if is_number(f)]
    lists = [f.column for f in fields if is_list(f)]
    return {
        "table": records._meta.db_table,
        "scores": scores._meta.db_table,
        "key": scores._meta.pk.column,
        "history": history._meta.db_table,
        "set": ", ".join(f"{c} = n.{c}" for c in columns),
        "defaults": ", ".join(_default(f) for f in fields),
        "columns": ", ".join(columns),
        "stored": ", ".join(["s.status", *(f"s.{c}" for c in columns)]),
        "computed": ", ".join(["n.status", *(f"n.{c}" for c in columns)]),
        "scores_json": _object(numbers),
        "explanation": f"n.breakdown || {_object(lists)}",
    }


def _store(
    kind: RecordKind,
    spec: dict[str, str],
    select: str,
    params: dict[str, Any],
    by_ids: bool,
    skip_unchanged: bool,
) -> list[Transition]:
    key, scores = spec["key"], spec["scores"]
    changed = (
        f"AND (s.model_version_id, {spec['stored']}) IS DISTINCT FROM"
        f" (%(version)s::bigint, {spec['computed']})"
        if skip_unchanged
        else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{int(settings.MQA_BULK_WORK_MEM_MB)}MB'")
        # A chunk's statements are planned afresh each time and their cost estimates cross
        # PostgreSQL's JIT thresholds, so each paid for compiling code it ran once: off by
        # default (MQA_SQL_JIT), as measured in docs/benchmarks.md.
        cursor.execute(f"SET LOCAL jit = {'on' if settings.MQA_SQL_JIT else 'off'}")
        # PostgreSQL's regex engine may backtrack on a rule's pattern: bound every statement.
        cursor.execute(
            f"SET LOCAL statement_timeout = {int(settings.MQA_SQL_STATEMENT_TIMEOUT_MS)}"
        )
        cursor.execute(
            f"""INSERT INTO {scores} ({key}, status, {spec["columns"]}, status_since)
                SELECT id, 'none', {spec["defaults"]}, %(now)s FROM {spec["table"]}
                WHERE {in_scope("id", by_ids)} ON CONFLICT DO NOTHING""",
            params,
        )
        # Lock first, in pk order: a statement cannot both lock rows and update them reliably.
        cursor.execute(
            f"SELECT 1 FROM {scores} WHERE {in_scope(key, by_ids)} ORDER BY {key} FOR UPDATE",
            params,
        )
        # One statement: read the old statuses (stable: the rows are locked), update, and
        # append history for the changes — the UPDATE's RETURNING feeds the INSERT. Only while
        # the model is still active, as seen once the rows are locked: scores computed for a
        # model published over meanwhile would overwrite those of the newer model's rescore.
        cursor.execute(
            f"""WITH upd AS (
                  UPDATE {scores} s SET {spec["set"]}, status = n.status,
                    status_since = CASE WHEN n.old_status <> n.status THEN %(now)s ELSE s.status_since END,
                    model_version_id = %(version)s, computed_at = %(now)s
                  FROM (SELECT new.*, o.status AS old_status FROM ({select}) new
                        JOIN {scores} o ON o.{key} = new.{key}) n
                  WHERE n.{key} = s.{key} {changed}
                    AND EXISTS (SELECT 1 FROM mqa_scoringmodelversion v
                                WHERE v.id = %(version)s AND v.state = 'active')
                  RETURNING n.*)
                INSERT INTO {spec["history"]} ({key}, from_status, to_status, changed_at,
                                               model_version_id, cause, scores, explanation)
                SELECT n.{key}, n.old_status, n.status, %(now)s, %(version)s, %(cause)s,
                       {spec["scores_json"]}, {spec["explanation"]}
                FROM upd n WHERE n.old_status <> n.status ORDER BY n.{key}
                RETURNING {key}, from_status, to_status, cause, scores::text""",
            params,
        )
        # As text, decoded here: how a connection loads jsonb is its own setting (Django's
        # hands it over as a string, which webhooks then carried as a string).
        return [
            Transition(kind, key_, old, new, cause, json.loads(scores))
            for key_, old, new, cause, scores in cursor.fetchall()
        ]


def _writer(kind: RecordKind, compile_sql: Callable[[ActiveModel, datetime, bool], Sql]) -> Write:
    """The store's write for one kind: compile the active model, run it over the scope."""
    spec = _spec(*SCORED[kind])

    def write(
        *,
        scope: Scope,
        active: ActiveModel,
        now: datetime,
        cause: str,
        skip_unchanged: bool = False,
    ) -> list[Transition]:
        by_ids = scope.ids is not None
        compiled = compile_sql(active, now, by_ids)
        bounds = {"lo": scope.lo, "hi": scope.hi, "ids": list(scope.ids or ())}
        params = {**compiled.params, **bounds, "now": now, "version": active.id, "cause": cause}
        with transaction.atomic():
            return _store(kind, spec, compiled.text, params, by_ids, skip_unchanged)

    return write


contacts_write = _writer(
    RecordKind.CONTACT,
    lambda active, now, by_ids: contact_scores_sql(active.model, now, by_ids),
)
# Accounts roll up the stored contact scores.
accounts_write = _writer(
    RecordKind.ACCOUNT,
    lambda active, now, by_ids: account_scores_sql(active.model, now, by_ids),
)
STORE = Store(contacts=contacts_write, accounts=accounts_write, set_based=True)
