"""Set-based rescoring on PostgreSQL: one statement per chunk computes, stores and records.

Used by the full rescore after publishing. Each chunk of contacts (then accounts), by primary
key range (or a list of ids, for pipeline batches), is scored by the SQL of
`mqa.bulk.compiler` in one transaction: lock the score rows (`FOR UPDATE`, pk order), then one
statement updates them beside their old statuses and appends a history row for every status
change — returned so that webhooks and routing follow as on the per-record path.

With `skip_unchanged` (the full rescore), a row whose model version, status, scores and
explanation come out as stored is not rewritten (a chunk redone after a worker died, a run
resumed). Every row a publish's rescore computes under the new version is written, so each
score states the model version that produced it (SPEC §3). Pipeline batches rewrite every row
they score, so `computed_at` keeps telling clients that fresh data was taken into account.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from contacts.models import Contact
from mqa.bulk.compiler import account_scores_sql, contact_scores_sql, in_scope
from mqa.selectors import ActiveModel
from mqa.services.scoring import transitions_announce

CONTACT = {
    "kind": "contact",
    "table": "contacts_contact",
    "scores": "mqa_contactscore",
    "key": "contact_id",
    "history": "mqa_contactstatuschange",
    "set": """fit = n.fit, engagement = n.engagement, total = n.total,
              disqualified_reasons = n.reasons, breakdown = n.breakdown""",
    "defaults": "0, 0, 0, '[]'::jsonb, '{}'::jsonb",
    "columns": "fit, engagement, total, disqualified_reasons, breakdown",
    "stored": "s.status, s.fit, s.engagement, s.total, s.disqualified_reasons, s.breakdown",
    "computed": "n.status, n.fit, n.engagement, n.total, n.reasons, n.breakdown",
    "scores_json": "jsonb_build_object('fit', n.fit, 'engagement', n.engagement, 'total', n.total)",
    "explanation": "n.breakdown || jsonb_build_object('disqualified_reasons', n.reasons)",
}
ACCOUNT = {
    "kind": "account",
    "table": "accounts_account",
    "scores": "mqa_accountscore",
    "key": "account_id",
    "history": "mqa_accountstatuschange",
    "set": """fit = n.fit, engagement = n.engagement, signal_score = n.signal_score,
              engaged_contacts = n.engaged_contacts, mql_contacts = n.mql_contacts,
              roles_covered = n.roles_covered, missing = n.missing,
              disqualified_reasons = n.reasons, breakdown = n.breakdown""",
    "defaults": "0, 0, 0, 0, 0, '[]'::jsonb, '[]'::jsonb, '[]'::jsonb, '{}'::jsonb",
    "columns": """fit, engagement, signal_score, engaged_contacts, mql_contacts, roles_covered,
                  missing, disqualified_reasons, breakdown""",
    "stored": """s.status, s.fit, s.engagement, s.signal_score, s.engaged_contacts,
                 s.mql_contacts, s.roles_covered, s.missing, s.disqualified_reasons, s.breakdown""",
    "computed": """n.status, n.fit, n.engagement, n.signal_score, n.engaged_contacts,
                   n.mql_contacts, n.roles_covered, n.missing, n.reasons, n.breakdown""",
    "scores_json": """jsonb_build_object('fit', n.fit, 'engagement', n.engagement,
                      'signal_score', n.signal_score, 'engaged_contacts', n.engaged_contacts,
                      'mql_contacts', n.mql_contacts)""",
    "explanation": """n.breakdown || jsonb_build_object('roles_covered', n.roles_covered,
                      'disqualified_reasons', n.reasons)""",
}


def _store(
    spec: dict[str, str], select: str, params: dict[str, Any], by_ids: bool, skip_unchanged: bool
) -> list[Any]:
    key, scores = spec["key"], spec["scores"]
    changed = (
        f"AND (s.model_version_id, {spec['stored']}) IS DISTINCT FROM"
        f" (%(version)s::bigint, {spec['computed']})"
        if skip_unchanged
        else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{int(settings.MQA_BULK_WORK_MEM_MB)}MB'")
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
                RETURNING {key}, from_status, to_status, cause, scores""",
            params,
        )
        columns = [c.name for c in cursor.description or []]
        changes = [
            SimpleNamespace(**dict(zip(columns, row, strict=True))) for row in cursor.fetchall()
        ]
        return changes


def _rescore(
    spec: dict[str, str],
    compiled: Any,
    *,
    active: ActiveModel,
    now: datetime,
    cause: str,
    route: bool,
    lo: int,
    hi: int,
    ids: list[int] | None,
    skip_unchanged: bool,
) -> None:
    """Store one scope's scores and announce its status changes, in one transaction."""
    scope = {"lo": lo, "hi": hi, "ids": ids}
    params = {**compiled.params, **scope, "now": now, "version": active.id, "cause": cause}
    with transaction.atomic():
        changes = _store(spec, compiled.text, params, ids is not None, skip_unchanged)
        transitions_announce(
            kind=spec["kind"], changes=changes, active=active, route=route, now=now
        )


def contact_scores_bulk(
    *,
    active: ActiveModel,
    now: datetime,
    cause: str,
    route: bool,
    lo: int = 0,
    hi: int = 0,
    ids: list[int] | None = None,
    skip_unchanged: bool = False,
) -> set[int]:
    """Rescore contacts `lo < id <= hi` (or exactly `ids`); with `ids`, returns their accounts."""
    _rescore(
        CONTACT,
        contact_scores_sql(active.model.contact, now, ids is not None),
        active=active,
        now=now,
        cause=cause,
        route=route,
        lo=lo,
        hi=hi,
        ids=ids,
        skip_unchanged=skip_unchanged,
    )
    if ids is None:
        return set()
    return set(
        Contact.objects.filter(id__in=ids, account_id__isnull=False).values_list(
            "account_id", flat=True
        )
    )


def account_scores_bulk(
    *,
    active: ActiveModel,
    now: datetime,
    cause: str,
    route: bool,
    lo: int = 0,
    hi: int = 0,
    ids: list[int] | None = None,
    skip_unchanged: bool = False,
) -> None:
    """Roll up accounts `lo < id <= hi` (or exactly `ids`) from the stored contact scores."""
    _rescore(
        ACCOUNT,
        account_scores_sql(active.model.account, now, ids is not None),
        active=active,
        now=now,
        cause=cause,
        route=route,
        lo=lo,
        hi=hi,
        ids=ids,
        skip_unchanged=skip_unchanged,
    )
