"""The `mqa.scoring-model/v1` JSON document: validation into a `ScoringModel` and back (SPEC §3).

`parse_document` reports every problem it finds with the path of the offending value
(`contact.fit.rules[1].value`) and raises `DocumentError`; `dump_document` writes the canonical
document with every default spelled out, so `parse_document(dump_document(m)) == m`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from mqa.scoring.attributes import is_account_attribute, is_contact_attribute
from mqa.scoring.reader import (
    DocumentError,
    Invalid,
    Reader,
    attribute_condition,
    dump_condition,
    guard,
    where_condition,
)
from mqa.scoring.types import (
    AccountModel,
    AccountThresholds,
    ActivityRule,
    ContactModel,
    ContactThresholds,
    Disqualifier,
    FitRule,
    ScoringModel,
)

FORMAT = "mqa.scoring-model/v1"
POINTS_LIMIT = 1000


def _points(r: Reader, item: dict[str, Any], path: str) -> int:
    return r.integer(item.get("points"), f"{path}.points", -POINTS_LIMIT, POINTS_LIMIT)


def _fit_rule(is_known: Callable[[str], bool]) -> Callable[[Reader, Any, str], FitRule]:
    def parse(r: Reader, item: Any, path: str) -> FitRule:
        r.obj(
            item,
            path,
            {"label", "attribute", "op", "value", "points"},
            {"attribute", "op", "points"},
        )
        condition = attribute_condition(r, item, path, is_known)
        points = _points(r, item, path)
        label = item.get("label") or f"{condition.attribute} {condition.op}"
        return FitRule(r.string(label, f"{path}.label"), condition, points)

    return parse


def _disqualifier(is_known: Callable[[str], bool]) -> Callable[[Reader, Any, str], Disqualifier]:
    def parse(r: Reader, item: Any, path: str) -> Disqualifier:
        r.obj(item, path, {"attribute", "op", "value", "reason"}, {"attribute", "op", "reason"})
        condition = attribute_condition(r, item, path, is_known)
        return Disqualifier(condition, r.string(item.get("reason"), f"{path}.reason"))

    return parse


def _activity_rule(type_key: str) -> Callable[[Reader, Any, str], ActivityRule]:
    keys = {"label", type_key, "where", "points", "max_count", "window_days", "half_life_days"}

    def parse(r: Reader, item: Any, path: str) -> ActivityRule:
        r.obj(item, path, keys, {type_key, "points"})
        type_name = r.type_name(item.get(type_key), f"{path}.{type_key}")
        where = r.each(
            r.items(item.get("where", []), f"{path}.where"),
            f"{path}.where",
            lambda v, p: where_condition(r, v, p),
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
    r: Reader, section: dict[str, Any], path: str, parse: Callable[[Reader, Any, str], Any]
) -> tuple[Any, ...]:
    values = r.items(section.get("rules", []), f"{path}.rules")
    return r.each(values, f"{path}.rules", lambda v, p: parse(r, v, p))


def _cap(r: Reader, section: dict[str, Any], path: str) -> int:
    return r.integer(section.get("cap", 100), f"{path}.cap", 0)


def _contact(r: Reader, doc: Any) -> ContactModel:
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
        thresholds=guard(r, thresholds, None),
        fit_cap=guard(r, lambda: _cap(r, fit, f"{path}.fit"), 100),
        fit_rules=_rules(r, fit, f"{path}.fit", _fit_rule(is_contact_attribute)),
        engagement_cap=guard(r, lambda: _cap(r, engagement, f"{path}.engagement"), 100),
        engagement_rules=_rules(r, engagement, f"{path}.engagement", _activity_rule("event_type")),
        disqualifiers=r.each(
            disqualifiers, f"{path}.disqualifiers", lambda v, p: parse_disqualifier(r, v, p)
        ),
    )


def _account(r: Reader, doc: Any) -> AccountModel:
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
            role = guard(r, partial(r.role_name, key, kpath), None)
            weight = guard(r, partial(r.number, value, kpath, 0), None)
            if role is not None and weight is not None:
                parsed[role] = weight
        return parsed

    disqualifiers = r.items(doc.get("disqualifiers", []), f"{path}.disqualifiers")
    parse_disqualifier = _disqualifier(is_account_attribute)
    return AccountModel(
        thresholds=guard(r, thresholds, AccountThresholds()),
        fit_cap=guard(r, lambda: _cap(r, fit, f"{path}.fit"), 100),
        fit_rules=_rules(r, fit, f"{path}.fit", _fit_rule(is_account_attribute)),
        signal_rules=_rules(r, signals, f"{path}.signals", _activity_rule("signal_type")),
        disqualifiers=r.each(
            disqualifiers, f"{path}.disqualifiers", lambda v, p: parse_disqualifier(r, v, p)
        ),
        role_weights=guard(r, role_weights, {}),
        default_role_weight=guard(
            r,
            lambda: r.number(doc.get("default_role_weight", 1.0), f"{path}.default_role_weight", 0),
            1.0,
        ),
    )


def parse_document(document: Any) -> ScoringModel:
    r = Reader()
    try:
        r.obj(document, "", {"format", "name", "contact", "account"}, {"format", "name", "contact"})
        if "format" in document and document["format"] != FORMAT:
            r.fail("format", f"must be {FORMAT!r}")
        name = guard(r, lambda: r.string(document.get("name"), "name"), "")
        contact = guard(r, lambda: _contact(r, document.get("contact", {})), None)
        account = guard(r, lambda: _account(r, document.get("account", {})), None)
    except Invalid:
        pass
    if r.errors:
        raise DocumentError(r.errors)
    return ScoringModel(name=name, contact=contact, account=account)


def _dump_fit(rule: FitRule) -> dict[str, Any]:
    return {"label": rule.label, **dump_condition(rule.condition), "points": rule.points}


def _dump_disqualifier(d: Disqualifier) -> dict[str, Any]:
    return {**dump_condition(d.condition), "reason": d.reason}


def _dump_activity(rule: ActivityRule, type_key: str) -> dict[str, Any]:
    return {
        "label": rule.label,
        type_key: rule.type,
        "where": [dump_condition(c, "property") for c in rule.where],
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
