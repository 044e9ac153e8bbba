"""Condition operators (SPEC §3 "Operators").

A value that is absent, null, or a string empty after trimming is *missing*: it satisfies only
`is_not_set`. Strings compare trimmed and lower-cased, numbers numerically, booleans only with
booleans; values of different types are unequal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mqa.scoring.regex import compiled

MISSING: Any = object()
# "Trimmed" means ASCII whitespace, the same set PostgreSQL's btrim is given by the bulk path.
WHITESPACE = " \t\n\r\x0b\x0c"

EQUALITY_OPS = ("eq", "neq", "in", "not_in")
STRING_OPS = ("contains", "not_contains", "starts_with", "ends_with", "regex")
NUMBER_OPS = ("gt", "gte", "lt", "lte", "between")
PRESENCE_OPS = ("is_set", "is_not_set")
OPERATORS = EQUALITY_OPS + STRING_OPS + NUMBER_OPS + PRESENCE_OPS


def is_missing(value: Any) -> bool:
    return (
        value is MISSING
        or value is None
        or (isinstance(value, str) and not value.strip(WHITESPACE))
    )


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def values_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    if is_number(left) and is_number(right):
        return bool(left == right)
    if isinstance(left, str) and isinstance(right, str):
        return left.strip(WHITESPACE).lower() == right.strip(WHITESPACE).lower()
    return False


def _string_op(test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    def apply(actual: Any, expected: Any) -> bool:
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        return test(actual.strip(WHITESPACE).lower(), expected.strip(WHITESPACE).lower())

    return apply


def _number_op(test: Callable[[float, Any], bool]) -> Callable[[Any, Any], bool]:
    def apply(actual: Any, expected: Any) -> bool:
        return is_number(actual) and test(actual, expected)

    return apply


def _regex(actual: Any, pattern: Any) -> bool:
    # RE2 (linear time, SPEC §3), never `re`: see mqa.scoring.regex.
    return isinstance(actual, str) and compiled(pattern).search(actual.strip(WHITESPACE))


_APPLY: dict[str, Callable[[Any, Any], bool]] = {
    "eq": values_equal,
    "neq": lambda a, e: not values_equal(a, e),
    "in": lambda a, e: any(values_equal(a, x) for x in e),
    "not_in": lambda a, e: not any(values_equal(a, x) for x in e),
    "contains": _string_op(lambda a, e: e in a),
    "not_contains": _string_op(lambda a, e: e not in a),
    "starts_with": _string_op(lambda a, e: a.startswith(e)),
    "ends_with": _string_op(lambda a, e: a.endswith(e)),
    "regex": _regex,
    "gt": _number_op(lambda a, e: a > e),
    "gte": _number_op(lambda a, e: a >= e),
    "lt": _number_op(lambda a, e: a < e),
    "lte": _number_op(lambda a, e: a <= e),
    "between": _number_op(lambda a, e: e[0] <= a <= e[1]),
}


def evaluate(op: str, actual: Any, expected: Any) -> bool:
    """Whether `actual op expected` holds; `actual` may be `MISSING`."""
    if op == "is_set":
        return not is_missing(actual)
    if op == "is_not_set":
        return is_missing(actual)
    if is_missing(actual):
        return False
    return _APPLY[op](actual, expected)
