"""Shared machinery for validating JSON documents into frozen dataclasses with exact paths.

Used by the scoring-model document and the routing document: a `Reader` walks a document,
collects every problem with its path (`contact.fit.rules[1].value`), and the caller raises
`DocumentError` with all of them at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from mqa.scoring.normalize import normalize_domain, normalize_role, normalize_type
from mqa.scoring.operators import (
    EQUALITY_OPS,
    NUMBER_OPS,
    OPERATORS,
    PRESENCE_OPS,
    is_number,
)
from mqa.scoring.regex import portable_regex_error
from mqa.scoring.types import Condition

DOMAIN_ATTRIBUTES = ("domain", "email_domain", "account.domain")


# Names, labels, queues and assignees are stored in 255-character columns.
MAX_STRING = 255


class DocumentError(ValueError):
    """A document that is not a valid scoring model; `errors` is a list of (path, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))


class Invalid(Exception):
    pass


class Reader:
    """Collects errors while walking the document so that one pass reports all of them."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> Invalid:
        self.errors.append((path, message))
        return Invalid()

    def obj(
        self,
        value: Any,
        path: str,
        allowed: set[str],
        required: frozenset[str] | set[str] = frozenset(),
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "must be an object")
        for key in value:
            if key not in allowed:
                self.fail(join_path(path, key), "unknown key")
        for key in sorted(required - value.keys()):
            self.fail(join_path(path, key), "is required")
        return value

    def items(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, "must be a list")
        return value

    def each(
        self, values: list[Any], path: str, parse: Callable[[Any, str], Any]
    ) -> tuple[Any, ...]:
        parsed = []
        for index, value in enumerate(values):
            with contextlib.suppress(Invalid):
                parsed.append(parse(value, f"{path}[{index}]"))
        return tuple(parsed)

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "must be a non-empty string")
        if len(value.strip()) > MAX_STRING:
            raise self.fail(path, f"must be at most {MAX_STRING} characters")
        return value.strip()

    def number(self, value: Any, path: str, minimum: float | None = None) -> float:
        if not is_number(value):
            raise self.fail(path, "must be a number")
        if minimum is not None and value < minimum:
            raise self.fail(path, f"must be at least {minimum}")
        return float(value) if isinstance(value, float) else int(value)

    def integer(
        self, value: Any, path: str, low: int | None = None, high: int | None = None
    ) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(path, "must be an integer")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise self.fail(path, f"must be {bounds}")
        return value

    def positive(self, value: Any, path: str) -> float | None:
        if value is None:
            return None
        if not is_number(value) or value <= 0:
            raise self.fail(path, "must be a positive number or null")
        return int(value) if isinstance(value, int) else float(value)

    def type_name(self, value: Any, path: str) -> str:
        name = normalize_type(value) if isinstance(value, str) else None
        if not name:
            raise self.fail(path, "must be a type name of letters, digits, '_', '.' or '-'")
        return name

    def role_name(self, value: Any, path: str) -> str:
        """Role-weight keys and required roles: trimmed and lower-cased, like `buying_role`."""
        name = normalize_role(value) if isinstance(value, str) else None
        if not name:
            raise self.fail(path, "must be a non-empty role name")
        return name


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _condition(
    r: Reader, attribute: str, op: Any, value: Any, path: str, has_value: bool
) -> Condition:
    if op not in OPERATORS:
        raise r.fail(f"{path}.op", f"unknown operator; use one of {', '.join(OPERATORS)}")
    vpath = f"{path}.value"
    if op in PRESENCE_OPS:
        if value is not None:
            raise r.fail(vpath, f"must be omitted for {op}")
        return Condition(attribute, op, None)
    if not has_value:
        raise r.fail(vpath, "is required")
    scalar = (str, int, float, bool)
    if op in ("eq", "neq"):
        if not isinstance(value, scalar):
            raise r.fail(vpath, "must be a string, number or boolean")
    elif op in ("in", "not_in"):
        if not isinstance(value, list) or not all(isinstance(v, scalar) for v in value):
            raise r.fail(vpath, "must be a list of strings, numbers or booleans")
        value = tuple(value)
    elif op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(is_number(v) for v in value)):
            raise r.fail(vpath, "must be a list [low, high] of two numbers")
        if value[0] > value[1]:
            raise r.fail(vpath, "low must not be greater than high")
        value = (value[0], value[1])
    elif op in NUMBER_OPS:
        if not is_number(value):
            raise r.fail(vpath, "must be a number")
    else:
        if not isinstance(value, str):
            raise r.fail(vpath, "must be a string")
        if op == "regex" and (problem := portable_regex_error(value)):
            raise r.fail(vpath, problem)
    if op in EQUALITY_OPS and attribute in DOMAIN_ATTRIBUTES:
        value = _normalize_domains(value)
    return Condition(attribute, op, value)


def _normalize_domains(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_normalize_domains(v) for v in value)
    return (normalize_domain(value) or value) if isinstance(value, str) else value


def attribute_condition(
    r: Reader, item: dict[str, Any], path: str, is_known: Callable[[str], bool]
) -> Condition:
    attribute = r.string(item.get("attribute"), f"{path}.attribute")
    if not is_known(attribute):
        raise r.fail(f"{path}.attribute", f"unknown attribute {attribute!r}")
    return _condition(r, attribute, item.get("op"), item.get("value"), path, "value" in item)


def where_condition(r: Reader, item: Any, path: str) -> Condition:
    r.obj(item, path, {"property", "op", "value"}, {"property", "op"})
    key = r.string(item.get("property"), f"{path}.property")
    return _condition(r, key, item.get("op"), item.get("value"), path, "value" in item)


def guard(r: Reader, parse: Callable[[], Any], default: Any) -> Any:
    try:
        return parse()
    except Invalid:
        return default


def dump_condition(condition: Condition, key: str = "attribute") -> dict[str, Any]:
    out: dict[str, Any] = {key: condition.attribute, "op": condition.op}
    if condition.op not in PRESENCE_OPS:
        value = condition.value
        out["value"] = list(value) if isinstance(value, tuple) else value
    return out
