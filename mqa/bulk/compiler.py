"""The scoring model compiled to PostgreSQL, for rescoring everything set-based (SPEC §3–§4).

`mqa.scoring` stays the reference: the SQL here reproduces its semantics — the missing-value
rule, typed comparisons, windows with the 300 s future tolerance, `max_count` most recent,
half-life decay, caps, rounding half away from zero, statuses and explanations — and a
property test holds the two equal on generated data. Pure: no Django, no clock; every value
from the model travels as a bound parameter.

Conditions on attributes and properties are compiled in `mqa.bulk.conditions`.

Segments (SPEC §3): each record gets `seg`, 0 for the top-level model and i for the i-th
segment (first match wins). Every condition, fit rule and activity rule that some effective
model uses is evaluated once per record; the fit, engagement, weights and thresholds are then
picked by `seg` — one branch per distinct value, so segments that only override thresholds
cost a CASE, not another pass over the events.
"""

from __future__ import annotations

from collections.abc import Callable
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
    ScoringModel,
    Segment,
)


class _Pick:
    """An expression chosen by the record's segment (`seg`): models that agree on what the
    expression depends on share one branch; with one branch there is no CASE at all."""

    def __init__(self, models: list[Any], seg: str = "seg") -> None:
        self.models, self.seg = models, seg

    def groups(self, key: Callable[[Any], Any]) -> list[list[int]]:
        groups: list[tuple[Any, list[int]]] = []
        for index, model in enumerate(self.models):
            value = key(model)
            for seen, members in groups:
                if seen == value:
                    members.append(index)
                    break
            else:
                groups.append((value, [index]))
        return [members for _, members in groups]

    def varies(self, key: Callable[[Any], Any]) -> bool:
        return len(self.groups(key)) > 1

    def __call__(self, key: Callable[[Any], Any], build: Callable[[Any], str]) -> str:
        groups = self.groups(key)
        default = build(self.models[0])
        if len(groups) == 1:
            return default
        whens = " ".join(
            f"WHEN {self.seg} IN ({', '.join(map(str, members))}) THEN {build(self.models[members[0]])}"
            for members in groups[1:]
        )
        return f"(CASE {whens} ELSE {default} END)"


def _segment_of(sql: Sql, segments: tuple[Segment, ...], alias: str, linked: bool) -> str:
    """`seg` of the account `alias`: the 1-based position of its first matching segment, 0 for
    none — and 0 for a contact without an account (`linked`: the join may find none)."""
    if not segments:
        return "0"
    unlinked = f"WHEN {alias}.id IS NULL THEN 0 " if linked else ""
    whens = " ".join(
        f"WHEN {' AND '.join(account_condition(sql, c, alias) for c in s.when)} THEN {i}"
        for i, s in enumerate(segments, start=1)
    )
    return f"(CASE {unlinked}{whens} ELSE 0 END)"


def _segment_name(sql: Sql, segments: tuple[Segment, ...]) -> str:
    if not segments:
        return "NULL::text"
    whens = " ".join(f"WHEN {i} THEN {sql.p(s.name)}::text" for i, s in enumerate(segments, 1))
    return f"(CASE seg {whens} END)"


def _unique(values: Any) -> list[Any]:
    return list(dict.fromkeys(values))


def _occurrences(rules: tuple[ActivityRule, ...]) -> list[tuple[ActivityRule, int]]:
    """Each rule with how many equal rules came before it in the same list."""
    seen: dict[ActivityRule, int] = {}
    out = []
    for rule in rules:
        out.append((rule, seen.get(rule, 0)))
        seen[rule] = seen.get(rule, 0) + 1
    return out


def _matches(sql: Sql, conditions: list[Condition], compile_: Any, prefix: str) -> str:
    """Select-list items `<prefix>0, <prefix>1, …`: each condition evaluated once per row.

    They are read from a MATERIALIZED CTE: an inlined subquery would copy the expression to
    every place the column is used (the fit sum, the explanation, the status).
    """
    return "".join(
        f", {compile_(sql, condition)} AS {prefix}{i}" for i, condition in enumerate(conditions)
    )


def _fit(
    sql: Sql, rules: tuple[FitRule, ...], cap: int, column: Callable[[FitRule], str]
) -> tuple[str, str]:
    """(fit expression, explanation expression) over the rules' match columns."""
    if not rules:
        return "0", "'[]'::jsonb"
    total = " + ".join(
        f"(CASE WHEN {column(rule)} THEN {sql.p(rule.points)} ELSE 0 END)" for rule in rules
    )
    fit = f"LEAST(GREATEST({total}, 0), {sql.p(cap)})"
    # Array concatenation in rule order: an expression, cheaper per row than a subquery.
    explained = " || ".join(
        f"(CASE WHEN {column(rule)} THEN jsonb_build_array(jsonb_build_object('label', {sql.p(rule.label)}::text, "
        f"'attribute', {sql.p(rule.condition.attribute)}::text, 'points', {sql.p(rule.points)}::int)) "
        "ELSE '[]'::jsonb END)"
        for rule in rules
    )
    return fit, f"({explained})"


def _reasons(
    sql: Sql, disqualifiers: tuple[Disqualifier, ...], column: Callable[[Disqualifier], str]
) -> str:
    """A text[] of matching reasons in model order, without repeats."""
    if not disqualifiers:
        return "ARRAY[]::text[]"
    items = ", ".join(
        f"(CASE WHEN {column(d)} THEN {sql.p(d.reason)}::text END)" for d in disqualifiers
    )
    # Most records match no disqualifier: skip the subquery for them.
    any_match = " OR ".join(column(d) for d in disqualifiers)
    return (
        f"(CASE WHEN {any_match} THEN "
        f"ARRAY(SELECT r FROM (SELECT r, min(i) AS i FROM unnest(ARRAY[{items}]) WITH ORDINALITY AS u(r, i) "
        f"WHERE r IS NOT NULL GROUP BY r) z ORDER BY i) ELSE ARRAY[]::text[] END)"
    )


def _activities(
    sql: Sql,
    rules: list[ActivityRule],
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
    per_model: list[tuple[ActivityRule, ...]],
    table: str,
    owner: str,
    now: datetime,
    by_ids: bool,
    name: str,
    segs: tuple[str, str],
) -> str:
    """CTEs ending in `name`(owner, raw, explained): the points of the rules of each owner's
    model (`per_model[seg]`), explained in that model's rule order. `segs` names the CTE and
    key column that give each owner's `seg`; it is joined only when the models' rules differ."""
    # A rule listed twice in one model counts twice (SPEC §4: each rule counts its events), so
    # rules are told apart by their content and which occurrence of it they are in their model.
    keyed = [_occurrences(model_rules) for model_rules in per_model]
    keys = _unique(key for model_keys in keyed for key in model_keys)
    rules = [rule for rule, _ in keys]
    position = {key: i for i, key in enumerate(keys)}
    activities = _activities(sql, rules, table, owner, now, in_scope("{owner}", by_ids))
    explained = (
        "jsonb_agg(jsonb_build_object('label', r.label, 'type', r.type, 'count', p.n, "
        "'points', round(p.pts::text::numeric, 2)) ORDER BY {order}) AS explained"
    )
    if all(model_rules == per_model[0] for model_rules in per_model):
        totals = f"""SELECT p.owner, sum(p.pts) AS raw, {explained.format(order="p.rule")}
  FROM per_rule p JOIN rules r ON r.rule = p.rule GROUP BY p.owner"""
    else:
        used = [
            f"({seg}, {position[key]}, {pos})"
            for seg, model_keys in enumerate(keyed)
            for pos, key in enumerate(model_keys)
        ]
        of_model = (
            f"(VALUES {', '.join(used)}) m(seg, rule, pos)"
            if used
            else "(SELECT 0 AS seg, 0 AS rule, 0 AS pos WHERE false) m"
        )
        cte, key = segs
        totals = f"""SELECT p.owner, sum(p.pts) AS raw, {explained.format(order="m.pos")}
  FROM per_rule p JOIN {cte} s ON s.{key} = p.owner
  JOIN {of_model} ON m.seg = s.seg AND m.rule = p.rule
  JOIN rules r ON r.rule = p.rule GROUP BY p.owner"""
    return f"""rules AS ({_per_rule(sql, rules)}),
acts AS ({activities}),
per_rule AS (SELECT owner, rule, count(*) AS n, sum(pts) AS pts FROM acts GROUP BY owner, rule),
{name} AS (
  {totals}
)"""


def in_scope(column: str, by_ids: bool) -> str:
    """Which records a statement covers: a primary-key range, or a list of ids."""
    if by_ids:
        return f"{column} = ANY(%(ids)s::bigint[])"
    return f"{column} > %(lo)s AND {column} <= %(hi)s"


def _per_rule(sql: Sql, rules: list[ActivityRule]) -> str:
    """VALUES (rule, label, type) to label the explanation."""
    if not rules:
        return "SELECT 0 AS rule, ''::text AS label, ''::text AS type WHERE false"
    rows = ", ".join(
        f"({i}, {sql.p(r.label)}::text, {sql.p(r.type)}::text)" for i, r in enumerate(rules)
    )
    return f"SELECT * FROM (VALUES {rows}) v(rule, label, type)"


def _fit_and_reasons(
    sql: Sql, models: list[ContactModel] | list[AccountModel], compile_: Any, pick: _Pick
) -> tuple[str, str, str, str]:
    """The match columns of every model's fit rules and disqualifiers (each condition once),
    and the fit, its explanation and the disqualifying reasons of the record's model."""
    fit_conditions = _unique(r.condition for m in models for r in m.fit_rules)
    reason_conditions = _unique(d.condition for m in models for d in m.disqualifiers)
    f = {c: f"f{i}" for i, c in enumerate(fit_conditions)}
    d = {c: f"d{i}" for i, c in enumerate(reason_conditions)}
    matches = _matches(sql, fit_conditions, compile_, "f") + _matches(
        sql, reason_conditions, compile_, "d"
    )

    def fit_key(m: Any) -> Any:
        return (m.fit_rules, m.fit_cap)

    def fit_of(m: Any) -> tuple[str, str]:
        return _fit(sql, m.fit_rules, m.fit_cap, lambda rule: f[rule.condition])

    fit = pick(fit_key, lambda m: fit_of(m)[0])
    fit_explained = pick(fit_key, lambda m: fit_of(m)[1])
    reasons = pick(
        lambda m: m.disqualifiers,
        lambda m: _reasons(sql, m.disqualifiers, lambda x: d[x.condition]),
    )
    return matches, fit, fit_explained, reasons


def _value(sql: Sql, pick: _Pick, read: Callable[[Any], Any], cast: str = "") -> str:
    """A model value (a threshold, a cap) as a bound parameter, picked by segment."""
    return pick(read, lambda m: f"{sql.p(read(m))}{cast}")


def contact_scores_sql(model: ScoringModel, now: datetime, by_ids: bool = False) -> Sql:
    """A SELECT of (contact_id, fit, engagement, total, status, disqualified_reasons, breakdown,
    segment) for the contacts with `lo < id <= hi`, or `id = ANY(ids)` when `by_ids` (bind
    them beside the model's parameters)."""
    sql = Sql()
    models = [model.contact, *(s.contact for s in model.segments)]
    pick = _Pick(models)
    seg = _segment_of(sql, model.segments, "a", linked=True)
    matches, fit, fit_explained, reasons = _fit_and_reasons(sql, models, contact_condition, pick)
    totals = _activity_totals(
        sql,
        [m.engagement_rules for m in models],
        "contacts_engagementevent",
        "contact_id",
        now,
        by_ids,
        "eng",
        ("facts", "contact_id"),
    )

    def threshold(name: str) -> str:
        return _value(sql, pick, lambda m: getattr(m.thresholds, name))

    cap = _value(sql, pick, lambda m: m.engagement_cap)
    text = f"""
WITH facts AS MATERIALIZED (
  SELECT c.id AS contact_id, {seg} AS seg{matches}
  FROM contacts_contact c
  LEFT JOIN accounts_account a ON a.id = c.account_id
  WHERE {in_scope("c.id", by_ids)}
),
{totals},
scored AS MATERIALIZED (
  SELECT f.contact_id, f.seg, {fit} AS fit, {fit_explained} AS fit_explained,
         round(LEAST(GREATEST(COALESCE(eng.raw, 0), 0), {cap})::float8::text::numeric, 2) AS engagement,
         COALESCE(eng.explained, '[]'::jsonb) AS engagement_explained,
         {reasons} AS reasons
  FROM facts f
  LEFT JOIN eng ON eng.owner = f.contact_id
),
named AS (SELECT *, {_segment_name(sql, model.segments)} AS segment FROM scored)
SELECT contact_id, fit, engagement::float8 AS engagement, round(fit + engagement, 2)::float8 AS total,
  CASE WHEN cardinality(reasons) > 0 THEN 'disqualified'
       WHEN fit >= {threshold("fit_floor")} AND engagement >= {threshold("engagement_floor")}
            AND fit + engagement >= {threshold("total")} THEN 'mql'
       WHEN engagement > 0 AND engagement >= {threshold("engaged")} THEN 'engaged'
       ELSE 'none' END AS status,
  to_jsonb(reasons) AS disqualified_reasons,
  jsonb_build_object('segment', segment, 'fit', fit_explained, 'engagement', engagement_explained,
                     'disqualifiers', to_jsonb(reasons)) AS breakdown,
  segment
FROM named"""
    sql.text = text
    return sql


def account_scores_sql(model: ScoringModel, now: datetime, by_ids: bool = False) -> Sql:
    """A SELECT of account scores for `lo < id <= hi`, rolled up from stored contact scores."""
    sql = Sql()
    models = [model.account, *(s.account for s in model.segments)]
    pick = _Pick(models)

    def weight_of(m: AccountModel) -> str:
        weights = " ".join(
            f"WHEN {sql.p(role)} THEN {sql.p(float(w))}::float8"
            for role, w in m.role_weights.items()
        )
        default = f"{sql.p(float(m.default_role_weight))}::float8"
        return f"(CASE c.buying_role {weights} ELSE {default} END)" if weights else default

    def weights_key(m: AccountModel) -> Any:
        return (dict(m.role_weights), m.default_role_weight)

    weight = _Pick(models, "f.seg")(weights_key, weight_of)
    # The members' weights depend on their account's segment only when the segments differ.
    by_segment = "JOIN facts f ON f.account_id = c.account_id" if pick.varies(weights_key) else ""
    seg = _segment_of(sql, model.segments, "a", linked=False)
    matches, fit, fit_explained, reasons = _fit_and_reasons(sql, models, account_condition, pick)
    totals = _activity_totals(
        sql,
        [m.signal_rules for m in models],
        "accounts_accountsignal",
        "account_id",
        now,
        by_ids,
        "sig",
        ("facts", "account_id"),
    )

    def threshold(name: str, cast: str = "") -> str:
        return _value(sql, pick, lambda m: getattr(m.thresholds, name), cast)

    required_roles = pick(
        lambda m: m.thresholds.required_roles,
        lambda m: f"{sql.p(list(m.thresholds.required_roles))}::text[]",
    )
    fit_floor, engaged_min = threshold("fit_floor"), threshold("min_engaged_contacts")
    min_roles, engagement_min = threshold("min_roles"), threshold("engagement")
    mql_min = threshold("min_mql_contacts")
    text = f"""
WITH facts AS MATERIALIZED (
  SELECT a.id AS account_id, {seg} AS seg{matches} FROM accounts_account a WHERE {in_scope("a.id", by_ids)}
),
{totals},
members AS (
  SELECT c.account_id, c.email, c.buying_role, s.status, s.engagement, {weight} AS weight
  FROM contacts_contact c JOIN mqa_contactscore s ON s.contact_id = c.id {by_segment}
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
scored AS MATERIALIZED (
  SELECT f.account_id, f.seg, {fit} AS fit, {fit_explained} AS fit_explained,
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
  SELECT *, round((weighted + signal_score::float8)::text::numeric, 2) AS engagement,
         {_segment_name(sql, model.segments)} AS segment
  FROM scored
),
judged AS MATERIALIZED (
  SELECT *,
    (SELECT COALESCE(jsonb_agg(x ORDER BY i), '[]'::jsonb) FROM unnest(ARRAY[
      CASE WHEN NOT fit >= {fit_floor} THEN jsonb_build_object('criterion', 'fit_floor', 'actual', fit, 'required', {fit_floor}) END,
      CASE WHEN NOT engaged >= {engaged_min} THEN jsonb_build_object('criterion', 'min_engaged_contacts', 'actual', engaged, 'required', {engaged_min}) END,
      CASE WHEN NOT cardinality(roles) >= {min_roles} THEN jsonb_build_object('criterion', 'min_roles', 'actual', cardinality(roles), 'required', {min_roles}) END,
      CASE WHEN NOT roles @> {required_roles} THEN jsonb_build_object('criterion', 'required_roles', 'actual', to_jsonb(roles), 'required', to_jsonb({required_roles})) END,
      CASE WHEN NOT engagement >= {engagement_min} THEN jsonb_build_object('criterion', 'engagement', 'actual', engagement::float8, 'required', {engagement_min}) END,
      CASE WHEN NOT mql >= {mql_min} THEN jsonb_build_object('criterion', 'min_mql_contacts', 'actual', mql, 'required', {mql_min}) END
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
  jsonb_build_object('segment', segment, 'fit', fit_explained, 'signals', signals_explained,
                     'contacts', contacts, 'disqualifiers', to_jsonb(reasons), 'missing', missing) AS breakdown,
  segment
FROM judged"""
    sql.text = text
    return sql
