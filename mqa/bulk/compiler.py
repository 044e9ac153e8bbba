"""The scoring model compiled to PostgreSQL, for rescoring everything set-based (SPEC §3–§4).

`mqa.scoring` stays the reference: the SQL here reproduces its semantics — the missing-value
rule, typed comparisons, windows with the 300 s future tolerance, `max_count` most recent,
half-life decay, caps, rounding half away from zero, statuses and explanations — and a
property test holds the two equal on generated data. Pure: no Django, no clock; every value
from the model travels as a bound parameter.

Conditions on attributes and properties are compiled in `mqa.bulk.conditions`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mqa.bulk.conditions import Sql, account_condition, contact_condition, property_condition
from mqa.scoring.engine import FUTURE_TOLERANCE_SECONDS
from mqa.scoring.types import (
    AccountModel,
    ActivityRule,
    Condition,
    ContactModel,
    Disqualifier,
    FitRule,
)


def _matches(sql: Sql, conditions: list[Condition], compile_: Any, prefix: str) -> str:
    """Select-list items `<prefix>0, <prefix>1, …`: each condition evaluated once per row.

    They are read from a MATERIALIZED CTE: an inlined subquery would copy the expression to
    every place the column is used (the fit sum, the explanation, the status).
    """
    return "".join(
        f", {compile_(sql, condition)} AS {prefix}{i}" for i, condition in enumerate(conditions)
    )


def _fit(sql: Sql, rules: tuple[FitRule, ...], cap: int) -> tuple[str, str]:
    """(fit expression, explanation expression) over the rules' match columns `f0, f1, …`."""
    if not rules:
        return "0", "'[]'::jsonb"
    total = " + ".join(
        f"(CASE WHEN f{i} THEN {sql.p(rule.points)} ELSE 0 END)" for i, rule in enumerate(rules)
    )
    fit = f"LEAST(GREATEST({total}, 0), {sql.p(cap)})"
    # Array concatenation in rule order: an expression, cheaper per row than a subquery.
    explained = " || ".join(
        f"(CASE WHEN f{i} THEN jsonb_build_array(jsonb_build_object('label', {sql.p(rule.label)}::text, "
        f"'attribute', {sql.p(rule.condition.attribute)}::text, 'points', {sql.p(rule.points)}::int)) "
        "ELSE '[]'::jsonb END)"
        for i, rule in enumerate(rules)
    )
    return fit, f"({explained})"


def _reasons(sql: Sql, disqualifiers: tuple[Disqualifier, ...]) -> str:
    """A text[] of matching reasons in model order, without repeats (match columns `d0, …`)."""
    if not disqualifiers:
        return "ARRAY[]::text[]"
    items = ", ".join(
        f"(CASE WHEN d{i} THEN {sql.p(d.reason)}::text END)" for i, d in enumerate(disqualifiers)
    )
    # Most records match no disqualifier: skip the subquery for them.
    any_match = " OR ".join(f"d{i}" for i in range(len(disqualifiers)))
    return (
        f"(CASE WHEN {any_match} THEN "
        f"ARRAY(SELECT r FROM (SELECT r, min(i) AS i FROM unnest(ARRAY[{items}]) WITH ORDINALITY AS u(r, i) "
        f"WHERE r IS NOT NULL GROUP BY r) z ORDER BY i) ELSE ARRAY[]::text[] END)"
    )


def _activities(
    sql: Sql,
    rules: tuple[ActivityRule, ...],
    table: str,
    owner: str,
    now: datetime,
    where_owner: str,
) -> str:
    """Rows (owner, rule, points) of each rule's `max_count` most recent matching activities.

    One pass over the activities, joined to the rules of their type (a row may match several
    rules), filtered by each rule's window and `where`, then ranked per (owner, rule).
    """
    if not rules:
        return "SELECT NULL::bigint AS owner, 0 AS rule, 0::float8 AS pts WHERE false"
    upper = now + timedelta(seconds=FUTURE_TOLERANCE_SECONDS)
    matches, points, rows = [], [], []
    for index, rule in enumerate(rules):
        filters = ["true"]
        if rule.window_days is not None:
            filters.append(f"e.occurred_at >= {sql.p(now - timedelta(days=rule.window_days))}")
        filters += [property_condition(sql, c, "e") for c in rule.where]
        matches.append(f"WHEN {index} THEN {' AND '.join(filters)}")
        decay = ""
        if rule.half_life_days is not None:
            decay = (
                f" * power(0.5::float8, GREATEST(0::float8, extract(epoch FROM ({sql.p(now)}::timestamptz"
                f" - e.occurred_at))::float8) / 86400.0 / {sql.p(float(rule.half_life_days))}::float8)"
            )
        points.append(f"WHEN {index} THEN {sql.p(float(rule.points))}::float8{decay}")
        limit = sql.p(rule.max_count) if rule.max_count is not None else "NULL"
        rows.append(f"({index}, {sql.p(rule.type)}::text, {limit}::int)")
    outer = [
        f"e.occurred_at <= {sql.p(upper)}",
        where_owner.replace("{owner}", f"e.{owner}"),
        f"CASE r.rule {' '.join(matches)} END",
    ]
    if all(r.window_days is not None for r in rules):
        longest = max(r.window_days or 0 for r in rules)
        outer.insert(0, f"e.occurred_at >= {sql.p(now - timedelta(days=longest))}")
    ranked = (
        f"SELECT e.{owner} AS owner, r.rule, CASE r.rule {' '.join(points)} END AS pts, r.max_count, "
        f"row_number() OVER (PARTITION BY e.{owner}, r.rule ORDER BY e.occurred_at DESC) AS rn "
        f"FROM {table} e JOIN (VALUES {', '.join(rows)}) r(rule, type, max_count) ON r.type = e.type "
        f"WHERE {' AND '.join(outer)}"
    )
    return (
        f"SELECT owner, rule, pts FROM ({ranked}) ranked WHERE max_count IS NULL OR rn <= max_count"
    )


def _activity_totals(
    sql: Sql,
    rules: tuple[ActivityRule, ...],
    table: str,
    owner: str,
    now: datetime,
    by_ids: bool,
    name: str,
) -> str:
    """CTEs ending in `name`(owner, raw, explained): the rules' points per owner, explained."""
    activities = _activities(sql, rules, table, owner, now, in_scope("{owner}", by_ids))
    return f"""rules AS ({_per_rule(sql, rules)}),
acts AS ({activities}),
per_rule AS (SELECT owner, rule, count(*) AS n, sum(pts) AS pts FROM acts GROUP BY owner, rule),
{name} AS (
  SELECT p.owner, sum(p.pts) AS raw,
         jsonb_agg(jsonb_build_object('label', r.label, 'type', r.type, 'count', p.n,
                   'points', round(p.pts::text::numeric, 2)) ORDER BY p.rule) AS explained
  FROM per_rule p JOIN rules r ON r.rule = p.rule GROUP BY p.owner
)"""


def in_scope(column: str, by_ids: bool) -> str:
    """Which records a statement covers: a primary-key range, or a list of ids."""
    if by_ids:
        return f"{column} = ANY(%(ids)s::bigint[])"
    return f"{column} > %(lo)s AND {column} <= %(hi)s"


def _per_rule(sql: Sql, rules: tuple[ActivityRule, ...]) -> str:
    """VALUES (rule, label, type) to label the explanation."""
    if not rules:
        return "SELECT 0 AS rule, ''::text AS label, ''::text AS type WHERE false"
    rows = ", ".join(
        f"({i}, {sql.p(r.label)}::text, {sql.p(r.type)}::text)" for i, r in enumerate(rules)
    )
    return f"SELECT * FROM (VALUES {rows}) v(rule, label, type)"


def _fit_and_reasons(
    sql: Sql, model: ContactModel | AccountModel, compile_: Any
) -> tuple[str, str, str, str]:
    """The match columns of the fit rules and disqualifiers, and the fit, its explanation and
    the disqualifying reasons computed from them."""
    matches = _matches(sql, [r.condition for r in model.fit_rules], compile_, "f") + _matches(
        sql, [d.condition for d in model.disqualifiers], compile_, "d"
    )
    fit, fit_explained = _fit(sql, model.fit_rules, model.fit_cap)
    return matches, fit, fit_explained, _reasons(sql, model.disqualifiers)


def contact_scores_sql(model: ContactModel, now: datetime, by_ids: bool = False) -> Sql:
    """A SELECT of (contact_id, fit, engagement, total, status, disqualified_reasons, breakdown) for the
    contacts with `lo < id <= hi`, or `id = ANY(ids)` when `by_ids` (bind them beside the
    model's parameters)."""
    sql = Sql()
    totals = _activity_totals(
        sql, model.engagement_rules, "contacts_engagementevent", "contact_id", now, by_ids, "eng"
    )
    matches, fit, fit_explained, reasons = _fit_and_reasons(sql, model, contact_condition)
    t = model.thresholds
    text = f"""
WITH {totals},
facts AS MATERIALIZED (
  SELECT c.id AS contact_id{matches}
  FROM contacts_contact c
  LEFT JOIN accounts_account a ON a.id = c.account_id
  WHERE {in_scope("c.id", by_ids)}
),
scored AS MATERIALIZED (
  SELECT f.contact_id, {fit} AS fit, {fit_explained} AS fit_explained,
         round(LEAST(GREATEST(COALESCE(eng.raw, 0), 0), {sql.p(model.engagement_cap)})::float8::text::numeric, 2) AS engagement,
         COALESCE(eng.explained, '[]'::jsonb) AS engagement_explained,
         {reasons} AS reasons
  FROM facts f
  LEFT JOIN eng ON eng.owner = f.contact_id
)
SELECT contact_id, fit, engagement::float8 AS engagement, round(fit + engagement, 2)::float8 AS total,
  CASE WHEN cardinality(reasons) > 0 THEN 'disqualified'
       WHEN fit >= {sql.p(t.fit_floor)} AND engagement >= {sql.p(t.engagement_floor)}
            AND fit + engagement >= {sql.p(t.total)} THEN 'mql'
       WHEN engagement > 0 AND engagement >= {sql.p(t.engaged)} THEN 'engaged'
       ELSE 'none' END AS status,
  to_jsonb(reasons) AS disqualified_reasons,
  jsonb_build_object('fit', fit_explained, 'engagement', engagement_explained,
                     'disqualifiers', to_jsonb(reasons)) AS breakdown
FROM scored"""
    sql.text = text
    return sql


def account_scores_sql(model: AccountModel, now: datetime, by_ids: bool = False) -> Sql:
    """A SELECT of account scores for `lo < id <= hi`, rolled up from stored contact scores."""
    sql = Sql()
    weights = " ".join(
        f"WHEN {sql.p(role)} THEN {sql.p(float(w))}::float8"
        for role, w in model.role_weights.items()
    )
    weight = (
        f"(CASE c.buying_role {weights} ELSE {sql.p(float(model.default_role_weight))}::float8 END)"
        if weights
        else f"{sql.p(float(model.default_role_weight))}::float8"
    )
    totals = _activity_totals(
        sql, model.signal_rules, "accounts_accountsignal", "account_id", now, by_ids, "sig"
    )
    matches, fit, fit_explained, reasons = _fit_and_reasons(sql, model, account_condition)
    t = model.thresholds
    text = f"""
WITH {totals},
members AS (
  SELECT c.account_id, c.email, c.buying_role, s.status, s.engagement, {weight} AS weight
  FROM contacts_contact c JOIN mqa_contactscore s ON s.contact_id = c.id
  WHERE {in_scope("c.account_id", by_ids)} AND s.status <> 'disqualified'
),
committee AS (
  SELECT account_id,
         sum(engagement * weight) AS weighted,
         count(*) FILTER (WHERE status IN ('engaged', 'mql')) AS engaged,
         count(*) FILTER (WHERE status = 'mql') AS mql,
         COALESCE(array_agg(DISTINCT buying_role::text COLLATE "C" ORDER BY buying_role::text COLLATE "C")
                  FILTER (WHERE status IN ('engaged', 'mql') AND buying_role IS NOT NULL), ARRAY[]::text[]) AS roles,
         jsonb_agg(jsonb_build_object('email', email, 'buying_role', buying_role, 'status', status,
                   'engagement', engagement, 'weight', weight,
                   'points', round((engagement * weight)::text::numeric, 2)) ORDER BY email COLLATE "C") AS contacts
  FROM members GROUP BY account_id
),
facts AS MATERIALIZED (
  SELECT a.id AS account_id{matches} FROM accounts_account a WHERE {in_scope("a.id", by_ids)}
),
scored AS MATERIALIZED (
  SELECT f.account_id, {fit} AS fit, {fit_explained} AS fit_explained,
         round(GREATEST(COALESCE(sig.raw, 0), 0)::float8::text::numeric, 2) AS signal_score,
         COALESCE(sig.explained, '[]'::jsonb) AS signals_explained,
         COALESCE(m.weighted, 0) AS weighted, COALESCE(m.engaged, 0) AS engaged, COALESCE(m.mql, 0) AS mql,
         COALESCE(m.roles, ARRAY[]::text[]) AS roles, COALESCE(m.contacts, '[]'::jsonb) AS contacts,
         {reasons} AS reasons
  FROM facts f
  LEFT JOIN sig ON sig.owner = f.account_id
  LEFT JOIN committee m ON m.account_id = f.account_id
),
totals AS (
  SELECT *, round((weighted + signal_score::float8)::text::numeric, 2) AS engagement FROM scored
),
judged AS MATERIALIZED (
  SELECT *,
    (SELECT COALESCE(jsonb_agg(x ORDER BY i), '[]'::jsonb) FROM unnest(ARRAY[
      CASE WHEN NOT fit >= {sql.p(t.fit_floor)} THEN jsonb_build_object('criterion', 'fit_floor', 'actual', fit, 'required', {sql.p(t.fit_floor)}) END,
      CASE WHEN NOT engaged >= {sql.p(t.min_engaged_contacts)} THEN jsonb_build_object('criterion', 'min_engaged_contacts', 'actual', engaged, 'required', {sql.p(t.min_engaged_contacts)}) END,
      CASE WHEN NOT cardinality(roles) >= {sql.p(t.min_roles)} THEN jsonb_build_object('criterion', 'min_roles', 'actual', cardinality(roles), 'required', {sql.p(t.min_roles)}) END,
      CASE WHEN NOT roles @> {sql.p(list(t.required_roles))}::text[] THEN jsonb_build_object('criterion', 'required_roles', 'actual', to_jsonb(roles), 'required', to_jsonb({sql.p(list(t.required_roles))}::text[])) END,
      CASE WHEN NOT engagement >= {sql.p(t.engagement)} THEN jsonb_build_object('criterion', 'engagement', 'actual', engagement::float8, 'required', {sql.p(t.engagement)}) END,
      CASE WHEN NOT mql >= {sql.p(t.min_mql_contacts)} THEN jsonb_build_object('criterion', 'min_mql_contacts', 'actual', mql, 'required', {sql.p(t.min_mql_contacts)}) END
    ]) WITH ORDINALITY AS u(x, i) WHERE x IS NOT NULL) AS missing
  FROM totals
)
SELECT account_id, fit, engagement::float8 AS engagement, signal_score::float8 AS signal_score,
  engaged::int AS engaged_contacts, mql::int AS mql_contacts, to_jsonb(roles) AS roles_covered, missing,
  to_jsonb(reasons) AS disqualified_reasons,
  CASE WHEN cardinality(reasons) > 0 THEN 'disqualified'
       WHEN missing = '[]'::jsonb THEN 'mqa'
       WHEN engaged > 0 OR signal_score > 0 THEN 'engaged'
       ELSE 'none' END AS status,
  jsonb_build_object('fit', fit_explained, 'signals', signals_explained, 'contacts', contacts,
                     'disqualifiers', to_jsonb(reasons), 'missing', missing) AS breakdown
FROM judged"""
    sql.text = text
    return sql
