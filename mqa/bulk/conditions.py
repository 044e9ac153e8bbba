"""Record attributes and `where` properties as typed SQL, and §3's conditions over them.

The value-level half of the compiled model (`mqa.bulk.compiler` builds the statements): each
condition becomes a boolean expression that follows `mqa.scoring.operators` — the
missing-value rule, typed comparisons, trimming and case folding, the portable regex subset.
Pure: no Django; every value from the model travels as a bound parameter of `Sql`.

Both trim the same ASCII whitespace (`operators.WHITESPACE`) and read `.` in a regex as
matching newlines too. Known difference: case folding of non-ASCII text follows the database's
collation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mqa.scoring.attributes import ACCOUNT_FIELDS, BOOLEAN_FIELDS, CONTACT_FIELDS, NUMBER_FIELDS
from mqa.scoring.operators import WHITESPACE
from mqa.scoring.types import Condition

WS = WHITESPACE
TEXT, NUMBER, BOOL, JSON = "text", "number", "bool", "json"


def _column_type(name: str) -> str:
    return NUMBER if name in NUMBER_FIELDS else BOOL if name in BOOLEAN_FIELDS else TEXT


ACCOUNT_COLUMNS = {name: _column_type(name) for name in sorted(ACCOUNT_FIELDS)}
CONTACT_COLUMNS = {name: _column_type(name) for name in sorted(CONTACT_FIELDS)}


@dataclass
class Sql:
    """SQL text with named placeholders (`%(p3)s`) and their values, built piece by piece."""

    text: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def p(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"


def _account_attribute(sql: Sql, alias: str, name: str) -> tuple[str, str]:
    if name.startswith("custom."):
        return f"({alias}.custom -> {sql.p(name[len('custom.') :])}::text)", JSON
    return f"{alias}.{name}", ACCOUNT_COLUMNS[name]


def _contact_attribute(sql: Sql, name: str) -> tuple[str, str]:
    if name.startswith("account."):
        return _account_attribute(sql, "a", name[len("account.") :])
    if name.startswith("custom."):
        return f"(c.custom -> {sql.p(name[len('custom.') :])}::text)", JSON
    return f"c.{name}", CONTACT_COLUMNS[name]


class _Conditions:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def _text(self, expr: str, kind: str) -> str:
        return (
            f"btrim({expr}, {self.sql.p(WS)})"
            if kind == TEXT
            else f"btrim({expr} #>> '{{}}', {self.sql.p(WS)})"
        )

    def missing(self, expr: str, kind: str) -> str:
        if kind == TEXT:
            return f"({expr} IS NULL OR {self._text(expr, kind)} = '')"
        if kind == JSON:
            return (
                f"({expr} IS NULL OR jsonb_typeof({expr}) = 'null' OR "
                f"(jsonb_typeof({expr}) = 'string' AND {self._text(expr, kind)} = ''))"
            )
        return f"({expr} IS NULL)"

    def _equal(self, expr: str, kind: str, value: Any) -> str:
        p = self.sql.p
        if isinstance(value, bool):
            if kind == BOOL:
                return f"({expr} = {p(value)})"
            if kind == JSON:
                # CASE, not AND: PostgreSQL may evaluate the cast before the type test.
                return f"(CASE WHEN jsonb_typeof({expr}) = 'boolean' THEN ({expr})::boolean = {p(value)} ELSE false END)"
            return "false"
        if isinstance(value, int | float):
            if kind == NUMBER:
                return f"({expr} = {p(value)})"
            if kind == JSON:
                return f"(CASE WHEN jsonb_typeof({expr}) = 'number' THEN ({expr})::numeric = {p(value)} ELSE false END)"
            return "false"
        if kind in (TEXT, JSON):
            guard = "" if kind == TEXT else f"jsonb_typeof({expr}) = 'string' AND "
            return f"({guard}lower({self._text(expr, kind)}) = {p(value.strip(WS).lower())})"
        return "false"

    def _string(self, expr: str, kind: str, test: str, value: str) -> str:
        if kind not in (TEXT, JSON):
            return "false"
        guard = "" if kind == TEXT else f"jsonb_typeof({expr}) = 'string' AND "
        s = f"lower({self._text(expr, kind)})"
        v = self.sql.p(value.strip(WS).lower())
        tests = {
            "contains": f"strpos({s}, {v}) > 0",
            "not_contains": f"strpos({s}, {v}) = 0",
            "starts_with": f"starts_with({s}, {v})",
            "ends_with": f"right({s}, length({v})) = {v}",
        }
        return f"({guard}{tests[test]})"

    def _number(self, expr: str, kind: str) -> str | None:
        if kind == NUMBER:
            return expr
        if kind == JSON:
            return f"(CASE WHEN jsonb_typeof({expr}) = 'number' THEN ({expr})::numeric END)"
        return None

    def compile(self, expr: str, kind: str, condition: Condition) -> str:
        op, value = condition.op, condition.value
        if op in ("is_set", "is_not_set"):
            missing = self.missing(expr, kind)
            return missing if op == "is_not_set" else f"(NOT {missing})"
        present = f"(NOT {self.missing(expr, kind)})"
        if op == "eq":
            test = self._equal(expr, kind, value)
        elif op == "neq":
            test = f"(NOT {self._equal(expr, kind, value)})"
        elif op in ("in", "not_in"):
            any_equal = " OR ".join(self._equal(expr, kind, v) for v in value) or "false"
            test = f"({any_equal})" if op == "in" else f"(NOT ({any_equal}))"
        elif op in ("contains", "not_contains", "starts_with", "ends_with"):
            test = self._string(expr, kind, op, value)
        elif op == "regex":
            if kind not in (TEXT, JSON):
                return "false"
            guard = "" if kind == TEXT else f"jsonb_typeof({expr}) = 'string' AND "
            test = f"({guard}{self._text(expr, kind)} ~* {self.sql.p(value)})"
        else:
            number = self._number(expr, kind)
            if number is None:
                return "false"
            p = self.sql.p
            if op == "between":
                test = f"({number} BETWEEN {p(value[0])} AND {p(value[1])})"
            else:
                sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
                test = f"({number} {sign} {p(value)})"
        return f"COALESCE({present} AND {test}, false)"


def contact_condition(sql: Sql, condition: Condition) -> str:
    expr, kind = _contact_attribute(sql, condition.attribute)
    return _Conditions(sql).compile(expr, kind, condition)


def account_condition(sql: Sql, condition: Condition, alias: str = "a") -> str:
    expr, kind = _account_attribute(sql, alias, condition.attribute)
    return _Conditions(sql).compile(expr, kind, condition)


def property_condition(sql: Sql, condition: Condition, alias: str) -> str:
    expr = f"({alias}.properties -> {sql.p(condition.attribute)}::text)"
    return _Conditions(sql).compile(expr, JSON, condition)
