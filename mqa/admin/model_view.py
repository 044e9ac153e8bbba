"""A published (read-only) scoring model as the admin shows it: the top level and each segment
as tables — rules with their label, condition and points, disqualifiers, role weights, and the
thresholds and caps named as the rule editor names them. Values are written the way the
editor takes them (`vp, c_level`, `url contains /pricing`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mqa.admin.rule_editor.rule_forms import (
    FORMSETS,
    SETTINGS_PATHS,
    SettingsForm,
    format_value,
    format_where,
    get_path,
    shown,
)
from mqa.admin.rule_editor.segments import HOLDER, OVERRIDES

NONE = "—"
ACTIVITY = ("Label", "Type", "Where", "Points", "Max count", "Window (days)", "Half-life (days)")
COLUMNS = {
    "contact_fit": ("Label", "Condition", "Points"),
    "engagement": ACTIVITY,
    "contact_disq": ("Condition", "Reason"),
    "account_fit": ("Label", "Condition", "Points"),
    "signals": ACTIVITY,
    "account_disq": ("Condition", "Reason"),
    "role_weights": ("Role", "Weight"),
}


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    columns: tuple[str, ...]
    rows: list[list[str]]


@dataclass(frozen=True)
class Part:
    """The top level, or one segment (its conditions and only what it overrides)."""

    id: str
    title: str
    tables: list[Table] = field(default_factory=list)
    when: Table | None = None
    note: str = ""


def _text(value: Any) -> str:
    return NONE if value is None or value == "" else format_value(value)


def condition(rule: dict[str, Any]) -> str:
    return f"{rule.get('attribute')} {rule.get('op')} {format_value(rule.get('value'))}".strip()


def _row(kind: str, rule: dict[str, Any]) -> list[str]:
    if kind in ("engagement", "signals"):
        kind_key = "event_type" if kind == "engagement" else "signal_type"
        return [
            _text(rule.get("label")),
            _text(rule.get(kind_key)),
            format_where(rule.get("where") or []) or NONE,
            *(_text(rule.get(k)) for k in ("points", "max_count", "window_days", "half_life_days")),
        ]
    if kind.endswith("_disq"):
        return [condition(rule), _text(rule.get("reason"))]
    return [_text(rule.get("label")), condition(rule), _text(rule.get("points"))]


def _rules(prefix: str, kind: str, found: Any) -> Table:
    _, _, title = FORMSETS[kind]
    if kind == "role_weights":
        # Heaviest first: a stored document does not keep its keys' order.
        weights = sorted((found or {}).items(), key=lambda item: (-item[1], item[0]))
        rows = [[role, _text(weight)] for role, weight in weights]
    else:
        rows = [_row(kind, rule) for rule in found or []]
    return Table(f"{prefix}-{kind}", title, COLUMNS[kind], rows)


def _settings(prefix: str, source: dict[str, Any], paths: list[str]) -> Table:
    rows = [
        [
            str(SettingsForm.base_fields[SETTINGS_PATHS[path]].label),
            _text(shown(SETTINGS_PATHS[path], get_path(source, tuple(path.split("."))))),
        ]
        for path in paths
    ]
    return Table(f"{prefix}-settings", "Thresholds and caps", ("Setting", "Value"), rows)


def _segment(index: int, segment: dict[str, Any]) -> Part:
    prefix = f"model-segment-{index}"
    given = [o for o in OVERRIDES if o.given_in(segment)]
    kinds = [kind for o in given for kind in o.formsets]
    tables = [_rules(prefix, kind, get_path(segment, FORMSETS[kind][1])) for kind in kinds]
    paths = [p for p in SETTINGS_PATHS if p != "name" and HOLDER[p] in given]
    if paths:
        tables.append(_settings(prefix, segment, paths))
    when = Table(
        f"{prefix}-when",
        "An account is in this segment when all of these hold",
        ("Condition",),
        [[condition(c)] for c in segment.get("when") or []],
    )
    note = (
        f"Overrides: {', '.join(o.label for o in given)} — inherits everything else."
        if given
        else "Overrides nothing — inherits the whole model."
    )
    return Part(prefix, f"Segment {index + 1}: {segment.get('name')}", tables, when, note)


def model_parts(document: dict[str, Any]) -> list[Part]:
    """The top level, then the segments in document order (the first that matches wins)."""
    top = [
        _rules("model", kind, get_path(document, path)) for kind, (_, path, _) in FORMSETS.items()
    ]
    top.append(_settings("model", document, [p for p in SETTINGS_PATHS if p != "name"]))
    segments = [_segment(i, s) for i, s in enumerate(document.get("segments") or [])]
    return [Part("model", "Rules", top), *segments]
