"""The `mqa.scoring-model/v1` JSON document: validation into a `ScoringModel` and back (SPEC §3).

`parse_document` reports every problem it finds with the path of the offending value
(`contact.fit.rules[1].value`) and raises `DocumentError`; `dump_document` writes the canonical
document with every default spelled out, so `parse_document(dump_document(m)) == m`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
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
    Condition,
    ContactModel,
    ContactThresholds,
    Disqualifier,
    FitRule,
    ScoringModel,
    Segment,
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


CONTACT_KEYS = ("fit", "engagement", "disqualifiers", "thresholds")
ACCOUNT_KEYS = (
    "fit",
    "signals",
    "disqualifiers",
    "role_weights",
    "default_role_weight",
    "thresholds",
)
CONTACT_THRESHOLDS = ("fit_floor", "engagement_floor", "total", "engaged")
ACCOUNT_THRESHOLDS = (
    "fit_floor",
    "engagement",
    "min_engaged_contacts",
    "min_roles",
    "required_roles",
    "min_mql_contacts",
)
MAX_SEGMENTS = 20


def _keep(
    r: Reader, doc: dict[str, Any], base: Any, key: str, attr: str, parse: Callable[[], Any]
) -> Any:
    """A field of a contact/account model: parsed from `doc[key]` at the top level (no `base`)
    or when a segment gives that key, else inherited from the segment's `base`."""
    if base is not None and key not in doc:
        return getattr(base, attr)
    return parse()


def _fit_section(
    r: Reader,
    doc: dict[str, Any],
    fit: dict[str, Any],
    path: str,
    base: ContactModel | AccountModel | None,
    is_known: Callable[[str], bool],
) -> tuple[int, tuple[FitRule, ...]]:
    """The cap and rules of a `fit` object, or a segment's base's when it gives none."""
    if base is not None and "fit" not in doc:
        return base.fit_cap, base.fit_rules
    cap = guard(r, lambda: _cap(r, fit, f"{path}.fit"), 100)
    return cap, _rules(r, fit, f"{path}.fit", _fit_rule(is_known))


def _overrides(
    doc: dict[str, Any], keys: tuple[str, ...], thresholds: tuple[str, ...]
) -> tuple[str, ...]:
    """What a segment's object gives: its keys in document order, thresholds key by key."""
    given: list[str] = []
    for key in keys:
        if key not in doc:
            continue
        t = doc[key]
        if key == "thresholds" and isinstance(t, dict):
            given += [f"thresholds.{k}" for k in thresholds if k in t]
        else:
            given.append(key)
    return tuple(given)


def _contact(
    r: Reader, doc: Any, path: str = "contact", base: ContactModel | None = None
) -> ContactModel:
    """The top-level `contact` object, or (with `base`) a segment's, which gives any of its
    keys: a given key replaces the base's whole, except `thresholds`, merged key by key."""
    r.obj(doc, path, set(CONTACT_KEYS), set() if base else {"thresholds"})
    fit = r.obj(doc.get("fit", {}), f"{path}.fit", {"cap", "rules"})
    engagement = r.obj(doc.get("engagement", {}), f"{path}.engagement", {"cap", "rules"})
    tp = f"{path}.thresholds"
    t = r.obj(doc.get("thresholds", {}), tp, set(CONTACT_THRESHOLDS), set() if base else {"total"})

    def thresholds() -> ContactThresholds:
        if base is None and "total" not in t:
            raise Invalid()  # reported by `r.obj`
        values: dict[str, Any] = {}
        if "total" in t:
            total = r.number(t.get("total"), f"{tp}.total")
            if total <= 0:
                raise r.fail(f"{tp}.total", "must be greater than 0")
            values["total"] = total
        for key in ("fit_floor", "engagement_floor", "engaged"):
            if key in t:
                values[key] = r.number(t[key], f"{tp}.{key}")
        return replace(base.thresholds, **values) if base else ContactThresholds(**values)

    def disqualifiers() -> tuple[Disqualifier, ...]:
        items = r.items(doc.get("disqualifiers", []), f"{path}.disqualifiers")
        parse = _disqualifier(is_contact_attribute)
        return r.each(items, f"{path}.disqualifiers", lambda v, p: parse(r, v, p))

    def keep(key: str, attr: str, parse: Callable[[], Any]) -> Any:
        return _keep(r, doc, base, key, attr, parse)

    fit_cap, fit_rules = _fit_section(r, doc, fit, path, base, is_contact_attribute)
    return ContactModel(
        thresholds=guard(r, thresholds, None),
        fit_cap=fit_cap,
        fit_rules=fit_rules,
        engagement_cap=keep(
            "engagement",
            "engagement_cap",
            lambda: guard(r, lambda: _cap(r, engagement, f"{path}.engagement"), 100),
        ),
        engagement_rules=keep(
            "engagement",
            "engagement_rules",
            lambda: _rules(r, engagement, f"{path}.engagement", _activity_rule("event_type")),
        ),
        disqualifiers=keep("disqualifiers", "disqualifiers", disqualifiers),
    )


def _account(
    r: Reader, doc: Any, path: str = "account", base: AccountModel | None = None
) -> AccountModel:
    """The top-level `account` object, or (with `base`) a segment's: as `_contact`."""
    r.obj(doc, path, set(ACCOUNT_KEYS))
    fit = r.obj(doc.get("fit", {}), f"{path}.fit", {"cap", "rules"})
    signals = r.obj(doc.get("signals", {}), f"{path}.signals", {"rules"})
    tp = f"{path}.thresholds"
    t = r.obj(doc.get("thresholds", {}), tp, set(ACCOUNT_THRESHOLDS))

    def thresholds() -> AccountThresholds:
        values: dict[str, Any] = {}
        if "required_roles" in t:
            roles = r.items(t["required_roles"], f"{tp}.required_roles")
            values["required_roles"] = tuple(
                dict.fromkeys(r.each(roles, f"{tp}.required_roles", r.role_name))
            )
        if "fit_floor" in t:
            values["fit_floor"] = r.number(t["fit_floor"], f"{tp}.fit_floor")
        if "engagement" in t:
            values["engagement"] = r.number(t["engagement"], f"{tp}.engagement")
        minimum = {"min_engaged_contacts": 1, "min_roles": 0, "min_mql_contacts": 0}
        for key, low in minimum.items():
            if key in t:
                values[key] = r.integer(t[key], f"{tp}.{key}", low)
        return replace(base.thresholds, **values) if base else AccountThresholds(**values)

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

    def disqualifiers() -> tuple[Disqualifier, ...]:
        items = r.items(doc.get("disqualifiers", []), f"{path}.disqualifiers")
        parse = _disqualifier(is_account_attribute)
        return r.each(items, f"{path}.disqualifiers", lambda v, p: parse(r, v, p))

    def default_weight() -> float:
        return r.number(doc.get("default_role_weight", 1.0), f"{path}.default_role_weight", 0)

    def keep(key: str, attr: str, parse: Callable[[], Any]) -> Any:
        return _keep(r, doc, base, key, attr, parse)

    fit_cap, fit_rules = _fit_section(r, doc, fit, path, base, is_account_attribute)
    return AccountModel(
        thresholds=guard(r, thresholds, base.thresholds if base else AccountThresholds()),
        fit_cap=fit_cap,
        fit_rules=fit_rules,
        signal_rules=keep(
            "signals",
            "signal_rules",
            lambda: _rules(r, signals, f"{path}.signals", _activity_rule("signal_type")),
        ),
        disqualifiers=keep("disqualifiers", "disqualifiers", disqualifiers),
        role_weights=keep("role_weights", "role_weights", lambda: guard(r, role_weights, {})),
        default_role_weight=keep(
            "default_role_weight", "default_role_weight", lambda: guard(r, default_weight, 1.0)
        ),
    )


def _when(r: Reader, item: Any, path: str) -> Condition:
    r.obj(item, path, {"attribute", "op", "value"}, {"attribute", "op"})
    return attribute_condition(r, item, path, is_account_attribute)


def _segments(
    r: Reader, value: Any, contact: ContactModel, account: AccountModel
) -> tuple[Segment, ...]:
    items = r.items(value, "segments")
    if len(items) > MAX_SEGMENTS:
        r.fail("segments", f"must hold at most {MAX_SEGMENTS} segments")
    names: dict[str, int] = {}

    def parse(item: Any, path: str) -> Segment:
        r.obj(item, path, {"name", "when", "contact", "account"}, {"name", "when"})
        name = (
            guard(r, lambda: r.string(item["name"], f"{path}.name"), None)
            if "name" in item
            else None
        )
        if name is not None:
            key = name.lower()
            if key in names:
                r.fail(f"{path}.name", f"repeats the name of segments[{names[key]}]")
            names.setdefault(key, int(path[len("segments[") : -1]))
        conditions = r.items(item.get("when"), f"{path}.when") if "when" in item else []
        if "when" in item and not conditions:
            r.fail(f"{path}.when", "must hold at least one condition")
        when = r.each(conditions, f"{path}.when", lambda v, p: _when(r, v, p))
        c_doc, a_doc = item.get("contact", {}), item.get("account", {})
        c = _contact(r, c_doc, f"{path}.contact", contact)
        a = _account(r, a_doc, f"{path}.account", account)
        return Segment(
            name=name or "",
            when=when,
            contact=c,
            account=a,
            contact_overrides=_overrides(c_doc, CONTACT_KEYS, CONTACT_THRESHOLDS),
            account_overrides=_overrides(a_doc, ACCOUNT_KEYS, ACCOUNT_THRESHOLDS),
        )

    return r.each(items, "segments", parse)


# Stand-ins that let a segment be validated when the top-level object it inherits from is not.
_NO_CONTACT = ContactModel(ContactThresholds(total=1))


def parse_document(document: Any) -> ScoringModel:
    r = Reader()
    try:
        keys = {"format", "name", "contact", "account", "segments"}
        r.obj(document, "", keys, {"format", "name", "contact"})
        if "format" in document and document["format"] != FORMAT:
            r.fail("format", f"must be {FORMAT!r}")
        name = guard(r, lambda: r.string(document.get("name"), "name"), "")
        contact = guard(r, lambda: _contact(r, document.get("contact", {})), None)
        account = guard(r, lambda: _account(r, document.get("account", {})), None)
        segments = guard(
            r,
            lambda: _segments(
                r, document.get("segments", []), contact or _NO_CONTACT, account or AccountModel()
            ),
            (),
        )
    except Invalid:
        pass
    if r.errors:
        raise DocumentError(r.errors)
    return ScoringModel(name=name, contact=contact, account=account, segments=segments)


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


def _dump_contact(c: ContactModel) -> dict[str, Any]:
    return {
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
    }


def _dump_account(a: AccountModel) -> dict[str, Any]:
    return {
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
    }


def _only(dumped: dict[str, Any], overrides: tuple[str, ...]) -> dict[str, Any]:
    """The keys a segment gives, out of its effective model's dump."""
    out: dict[str, Any] = {}
    for key in overrides:
        if key.startswith("thresholds."):
            name = key[len("thresholds.") :]
            out.setdefault("thresholds", {})[name] = dumped["thresholds"][name]
        else:
            out[key] = dumped[key]
    return out


def _dump_segment(segment: Segment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": segment.name,
        "when": [dump_condition(c) for c in segment.when],
    }
    if segment.contact_overrides:
        out["contact"] = _only(_dump_contact(segment.contact), segment.contact_overrides)
    if segment.account_overrides:
        out["account"] = _only(_dump_account(segment.account), segment.account_overrides)
    return out


def dump_document(model: ScoringModel) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": model.name,
        "contact": _dump_contact(model.contact),
        "account": _dump_account(model.account),
        "segments": [_dump_segment(s) for s in model.segments],
    }
