"""The `mqa.scoring-model/v1` JSON document: validation into a `ScoringModel` and back (SPEC §3).

`parse_document` reports every problem it finds with the path of the offending value
(`contact.fit.rules[1].value`) and raises `DocumentError`; `dump_document` writes the canonical
document with every default spelled out, so `parse_document(dump_document(m)) == m`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from typing import Any

from mqa.scoring.attributes import is_account_attribute, is_contact_attribute
from mqa.scoring.normalize import normalize_domain, normalize_role, normalize_type
from mqa.scoring.operators import (
    EQUALITY_OPS,
    NUMBER_OPS,
    OPERATORS,
    PRESENCE_OPS,
    is_number,
)
from mqa.scoring.regex import portable_regex_error
from mqa.scoring.types import (
    AccountModel,
    AccountThresholds,
    ActivityRule,
    Condition,
    ContactModel,
    ContactThresholds,
    Disqualifier,
    FitRule,
    ScoringModel,
)

FORMAT = "mqa.scoring-model/v1"
POINTS_LIMIT = 1000
DOMAIN_ATTRIBUTES = ("domain", "email_domain", "account.domain")


class DocumentError(ValueError):
    """A document that is not a valid scoring model; `errors` is a list of (path, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))


class _Invalid(Exception):
    pass


class _Reader:
    """Collects errors while walking the document so that one pass reports all of them."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> _Invalid:
        self.errors.append((path, message))
        return _Invalid()

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
                self.fail(_join(path, key), "unknown key")
        for key in sorted(required - value.keys()):
            self.fail(_join(path, key), "is required")
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
            with contextlib.suppress(_Invalid):
                parsed.append(parse(value, f"{path}[{index}]"))
        return tuple(parsed)

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "must be a non-empty string")
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


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _condition(
    r: _Reader, attribute: str, op: Any, value: Any, path: str, has_value: bool
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


def _attribute_condition(
    r: _Reader, item: dict[str, Any], path: str, is_known: Callable[[str], bool]
) -> Condition:
    attribute = r.string(item.get("attribute"), f"{path}.attribute")
    if not is_known(attribute):
        raise r.fail(f"{path}.attribute", f"unknown attribute {attribute!r}")
    return _condition(r, attribute, item.get("op"), item.get("value"), path, "value" in item)


def _where(r: _Reader, item: Any, path: str) -> Condition:
    r.obj(item, path, {"property", "op", "value"}, {"property", "op"})
    key = r.string(item.get("property"), f"{path}.property")
    return _condition(r, key, item.get("op"), item.get("value"), path, "value" in item)


def _points(r: _Reader, item: dict[str, Any], path: str) -> int:
    return r.integer(item.get("points"), f"{path}.points", -POINTS_LIMIT, POINTS_LIMIT)


def _fit_rule(is_known: Callable[[str], bool]) -> Callable[[_Reader, Any, str], FitRule]:
    def parse(r: _Reader, item: Any, path: str) -> FitRule:
        r.obj(
            item,
            path,
            {"label", "attribute", "op", "value", "points"},
            {"attribute", "op", "points"},
        )
        condition = _attribute_condition(r, item, path, is_known)
        points = _points(r, item, path)
        label = item.get("label") or f"{condition.attribute} {condition.op}"
        return FitRule(r.string(label, f"{path}.label"), condition, points)

    return parse


def _disqualifier(is_known: Callable[[str], bool]) -> Callable[[_Reader, Any, str], Disqualifier]:
    def parse(r: _Reader, item: Any, path: str) -> Disqualifier:
        r.obj(item, path, {"attribute", "op", "value", "reason"}, {"attribute", "op", "reason"})
        condition = _attribute_condition(r, item, path, is_known)
        return Disqualifier(condition, r.string(item.get("reason"), f"{path}.reason"))

    return parse


def _activity_rule(type_key: str) -> Callable[[_Reader, Any, str], ActivityRule]:
    keys = {"label", type_key, "where", "points", "max_count", "window_days", "half_life_days"}

    def parse(r: _Reader, item: Any, path: str) -> ActivityRule:
        r.obj(item, path, keys, {type_key, "points"})
        type_name = r.type_name(item.get(type_key), f"{path}.{type_key}")
        where = r.each(
            r.items(item.get("where", []), f"{path}.where"),
            f"{path}.where",
            lambda v, p: _where(r, v, p),
        )
        max_count = item.get("max_count")
        if max_count is not None:
            max_count = r.integer(max_count, f"{path}.max_count", 1)
        label = item.get("label") or type_name
        rule = ActivityRule(
            label=r.string(label, f"{path}.label"),
            type=type_name,
            points=_points(r, item, path),
            where=where,
            max_count=max_count,
            window_days=r.positive(item.get("window_days"), f"{path}.window_days"),
            half_life_days=r.positive(item.get("half_life_days"), f"{path}.half_life_days"),
        )
        return rule

    return parse


def _rules(
    r: _Reader, section: dict[str, Any], path: str, parse: Callable[[_Reader, Any, str], Any]
) -> tuple[Any, ...]:
    values = r.items(section.get("rules", []), f"{path}.rules")
    return r.each(values, f"{path}.rules", lambda v, p: parse(r, v, p))


def _cap(r: _Reader, section: dict[str, Any], path: str) -> int:
    return r.integer(section.get("cap", 100), f"{path}.cap", 0)


def _guard(r: _Reader, parse: Callable[[], Any], default: Any) -> Any:
    try:
        return parse()
    except _Invalid:
        return default


def _contact(r: _Reader, doc: Any) -> ContactModel:
    path = "contact"
    r.obj(doc, path, {"fit", "engagement", "disqualifiers", "thresholds"}, {"thresholds"})
    fit = r.obj(doc.get("fit", {}), f"{path}.fit", {"cap", "rules"})
    engagement = r.obj(doc.get("engagement", {}), f"{path}.engagement", {"cap", "rules"})
    t = r.obj(
        doc.get("thresholds", {}),
        f"{path}.thresholds",
        {"fit_floor", "engagement_floor", "total", "engaged"},
        {"total"},
    )
    tp = f"{path}.thresholds"

    def thresholds() -> ContactThresholds:
        total = r.number(t.get("total"), f"{tp}.total")
        if total <= 0:
            raise r.fail(f"{tp}.total", "must be greater than 0")
        return ContactThresholds(
            total=total,
            fit_floor=r.number(t.get("fit_floor", 0), f"{tp}.fit_floor"),
            engagement_floor=r.number(t.get("engagement_floor", 0), f"{tp}.engagement_floor"),
            engaged=r.number(t.get("engaged", 0), f"{tp}.engaged"),
        )

    disqualifiers = r.items(doc.get("disqualifiers", []), f"{path}.disqualifiers")
    parse_disqualifier = _disqualifier(is_contact_attribute)
    return ContactModel(
        thresholds=_guard(r, thresholds, None),
        fit_cap=_guard(r, lambda: _cap(r, fit, f"{path}.fit"), 100),
        fit_rules=_rules(r, fit, f"{path}.fit", _fit_rule(is_contact_attribute)),
        engagement_cap=_guard(r, lambda: _cap(r, engagement, f"{path}.engagement"), 100),
        engagement_rules=_rules(r, engagement, f"{path}.engagement", _activity_rule("event_type")),
        disqualifiers=r.each(
            disqualifiers, f"{path}.disqualifiers", lambda v, p: parse_disqualifier(r, v, p)
        ),
    )


def _account(r: _Reader, doc: Any) -> AccountModel:
    path = "account"
    keys = {"fit", "signals", "disqualifiers", "role_weights", "default_role_weight", "thresholds"}
    r.obj(doc, path, keys)
    fit = r.obj(doc.get("fit", {}), f"{path}.fit", {"cap", "rules"})
    signals = r.obj(doc.get("signals", {}), f"{path}.signals", {"rules"})
    tp = f"{path}.thresholds"
    t = r.obj(
        doc.get("thresholds", {}),
        tp,
        {
            "fit_floor",
            "engagement",
            "min_engaged_contacts",
            "min_roles",
            "required_roles",
            "min_mql_contacts",
        },
    )

    def thresholds() -> AccountThresholds:
        roles = r.items(t.get("required_roles", []), f"{tp}.required_roles")
        return AccountThresholds(
            fit_floor=r.number(t.get("fit_floor", 0), f"{tp}.fit_floor"),
            engagement=r.number(t.get("engagement", 0), f"{tp}.engagement"),
            min_engaged_contacts=r.integer(
                t.get("min_engaged_contacts", 1), f"{tp}.min_engaged_contacts", 1
            ),
            min_roles=r.integer(t.get("min_roles", 0), f"{tp}.min_roles", 0),
            required_roles=tuple(dict.fromkeys(r.each(roles, f"{tp}.required_roles", r.role_name))),
            min_mql_contacts=r.integer(t.get("min_mql_contacts", 0), f"{tp}.min_mql_contacts", 0),
        )

    def role_weights() -> dict[str, float]:
        weights = doc.get("role_weights", {})
        if not isinstance(weights, dict):
            raise r.fail(f"{path}.role_weights", "must be an object")
        parsed = {}
        for key, value in weights.items():
            kpath = f"{path}.role_weights.{key}"
            role = _guard(r, partial(r.role_name, key, kpath), None)
            weight = _guard(r, partial(r.number, value, kpath, 0), None)
            if role is not None and weight is not None:
                parsed[role] = weight
        return parsed

    disqualifiers = r.items(doc.get("disqualifiers", []), f"{path}.disqualifiers")
    parse_disqualifier = _disqualifier(is_account_attribute)
    return AccountModel(
        thresholds=_guard(r, thresholds, AccountThresholds()),
        fit_cap=_guard(r, lambda: _cap(r, fit, f"{path}.fit"), 100),
        fit_rules=_rules(r, fit, f"{path}.fit", _fit_rule(is_account_attribute)),
        signal_rules=_rules(r, signals, f"{path}.signals", _activity_rule("signal_type")),
        disqualifiers=r.each(
            disqualifiers, f"{path}.disqualifiers", lambda v, p: parse_disqualifier(r, v, p)
        ),
        role_weights=_guard(r, role_weights, {}),
        default_role_weight=_guard(
            r,
            lambda: r.number(doc.get("default_role_weight", 1.0), f"{path}.default_role_weight", 0),
            1.0,
        ),
    )


def parse_document(document: Any) -> ScoringModel:
    r = _Reader()
    try:
        r.obj(document, "", {"format", "name", "contact", "account"}, {"format", "name", "contact"})
        if "format" in document and document["format"] != FORMAT:
            r.fail("format", f"must be {FORMAT!r}")
        name = _guard(r, lambda: r.string(document.get("name"), "name"), "")
        contact = _guard(r, lambda: _contact(r, document.get("contact", {})), None)
        account = _guard(r, lambda: _account(r, document.get("account", {})), None)
    except _Invalid:
        pass
    if r.errors:
        raise DocumentError(r.errors)
    return ScoringModel(name=name, contact=contact, account=account)


def _dump_condition(condition: Condition, key: str = "attribute") -> dict[str, Any]:
    out: dict[str, Any] = {key: condition.attribute, "op": condition.op}
    if condition.op not in PRESENCE_OPS:
        value = condition.value
        out["value"] = list(value) if isinstance(value, tuple) else value
    return out


def _dump_fit(rule: FitRule) -> dict[str, Any]:
    return {"label": rule.label, **_dump_condition(rule.condition), "points": rule.points}


def _dump_disqualifier(d: Disqualifier) -> dict[str, Any]:
    return {**_dump_condition(d.condition), "reason": d.reason}


def _dump_activity(rule: ActivityRule, type_key: str) -> dict[str, Any]:
    return {
        "label": rule.label,
        type_key: rule.type,
        "where": [_dump_condition(c, "property") for c in rule.where],
        "points": rule.points,
        "max_count": rule.max_count,
        "window_days": rule.window_days,
        "half_life_days": rule.half_life_days,
    }


def dump_document(model: ScoringModel) -> dict[str, Any]:
    c, a = model.contact, model.account
    return {
        "format": FORMAT,
        "name": model.name,
        "contact": {
            "fit": {"cap": c.fit_cap, "rules": [_dump_fit(x) for x in c.fit_rules]},
            "engagement": {
                "cap": c.engagement_cap,
                "rules": [_dump_activity(x, "event_type") for x in c.engagement_rules],
            },
            "disqualifiers": [_dump_disqualifier(x) for x in c.disqualifiers],
            "thresholds": {
                "fit_floor": c.thresholds.fit_floor,
                "engagement_floor": c.thresholds.engagement_floor,
                "total": c.thresholds.total,
                "engaged": c.thresholds.engaged,
            },
        },
        "account": {
            "fit": {"cap": a.fit_cap, "rules": [_dump_fit(x) for x in a.fit_rules]},
            "signals": {"rules": [_dump_activity(x, "signal_type") for x in a.signal_rules]},
            "disqualifiers": [_dump_disqualifier(x) for x in a.disqualifiers],
            "role_weights": dict(a.role_weights),
            "default_role_weight": a.default_role_weight,
            "thresholds": {
                "fit_floor": a.thresholds.fit_floor,
                "engagement": a.thresholds.engagement,
                "min_engaged_contacts": a.thresholds.min_engaged_contacts,
                "min_roles": a.thresholds.min_roles,
                "required_roles": list(a.thresholds.required_roles),
                "min_mql_contacts": a.thresholds.min_mql_contacts,
            },
        },
    }
