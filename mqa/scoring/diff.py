"""What changed between two scoring-model documents, rule by rule (for the audit trail).

Rules are matched by their name — a rule's `label`, a disqualifier's `reason`, a segment's
`name` — where that name is unique on both sides, then unmatched rules by identical content,
then the rest (unnamed or sharing a name) each to the one it has most fields in common with
(the earlier on a tie); what is left was added or removed. Deleting one rule of sixteen is one
removal, and moving rules around is no change (rules add up; only segments' order matters,
and their conditions are what is reported). Settings that are objects (thresholds, role
weights) are reported key by key.

A change is `{"path", "before", "after"}`: the path of the rule in the new document (in the
old one for a removal), or of the setting; `before` is None for an addition, `after` for a
removal. `change_summary` words one for the change history.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

RULE_LISTS: tuple[tuple[str, ...], ...] = (
    ("contact", "fit", "rules"),
    ("contact", "engagement", "rules"),
    ("contact", "disqualifiers"),
    ("account", "fit", "rules"),
    ("account", "signals", "rules"),
    ("account", "disqualifiers"),
    ("segments",),  # a segment (its conditions and overrides) as one item
)
SCALARS: tuple[tuple[str, ...], ...] = (
    ("name",),
    ("contact", "fit", "cap"),
    ("contact", "engagement", "cap"),
    ("contact", "thresholds"),
    ("account", "fit", "cap"),
    ("account", "thresholds"),
    ("account", "role_weights"),
    ("account", "default_role_weight"),
)
NAME_KEYS = ("label", "reason", "name")
# How a rule's fields read (stored documents may come back with their keys in another order).
FIELD_ORDER = (
    "name",
    "label",
    "when",
    "attribute",
    "event_type",
    "signal_type",
    "op",
    "value",
    "where",
    "points",
    "max_count",
    "window_days",
    "half_life_days",
    "reason",
    "contact",
    "account",
)
ABSENT = "—"

Change = dict[str, Any]
Pair = tuple[int | None, int | None]


def _get(document: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    value: Any = document or {}
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _name(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in NAME_KEYS:
            if isinstance(item.get(key), str) and item[key].strip():
                return str(item[key]).strip().lower()
    return None


def _unique_names(items: list[Any]) -> list[str | None]:
    names = [_name(item) for item in items]
    counts = Counter(names)
    return [name if name is not None and counts[name] == 1 else None for name in names]


def _in_common(was: Any, now: Any) -> int:
    """How many fields two rules share (an edit keeps most of them)."""
    if not isinstance(was, dict) or not isinstance(now, dict):
        return 0
    return sum(1 for key, value in now.items() if key in was and was[key] == value)


def _pairs(old: list[Any], new: list[Any]) -> list[Pair]:
    """(old index, new index) of each item: matched, removed (new None) or added (old None)."""
    old_names, new_names = _unique_names(old), _unique_names(new)
    match: dict[int, int] = {}  # new index → old index
    by_name = {name: i for i, name in enumerate(old_names) if name is not None}
    for j, name in enumerate(new_names):
        if name is not None and name in by_name:
            match[j] = by_name[name]

    def free_old(keep: Callable[[int], bool]) -> list[int]:
        taken = set(match.values())
        return [i for i in range(len(old)) if i not in taken and keep(i)]

    for j, item in enumerate(new):
        if j not in match:
            same = [i for i in free_old(lambda i: True) if old[i] == item]
            if same:
                match[j] = same[0]
    for j in range(len(new)):
        if j not in match and new_names[j] is None:
            candidates = free_old(lambda i: old_names[i] is None)
            scored = [(_in_common(old[i], new[j]), -i, i) for i in candidates]
            best = max(scored, default=None)
            if best is not None and best[0] > 0:
                match[j] = best[2]
    pairs: list[Pair] = [(match.get(j), j) for j in range(len(new))]
    pairs += [(i, None) for i in free_old(lambda i: True)]
    return pairs


def _order(pair: Pair) -> tuple[int, int]:
    old, new = pair
    return (new, 0) if new is not None else (old or 0, 1)


def _list_changes(path: tuple[str, ...], old: list[Any], new: list[Any]) -> list[Change]:
    changes = []
    for i, j in sorted(_pairs(old, new), key=_order):
        was = old[i] if i is not None else None
        now = new[j] if j is not None else None
        if was != now:
            index = j if j is not None else i
            changes.append({"path": f"{'.'.join(path)}[{index}]", "before": was, "after": now})
    return changes


def _setting_changes(path: tuple[str, ...], was: Any, now: Any) -> list[Change]:
    if isinstance(was, dict) and isinstance(now, dict):
        keys = [*was, *(k for k in now if k not in was)]
        return [
            {"path": ".".join((*path, key)), "before": was.get(key), "after": now.get(key)}
            for key in keys
            if was.get(key) != now.get(key)
        ]
    return [{"path": ".".join(path), "before": was, "after": now}] if was != now else []


def document_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Change]:
    """`[{"path", "before", "after"}]`: each rule added, removed or edited, each setting changed."""
    changes = []
    for path in RULE_LISTS:
        changes += _list_changes(path, _get(before, path) or [], _get(after, path) or [])
    for path in SCALARS:
        changes += _setting_changes(path, _get(before, path), _get(after, path))
    return changes


def _shown(value: Any) -> str:
    return ABSENT if value is None else json.dumps(value, ensure_ascii=False)


def change_summary(change: Change) -> dict[str, Any]:
    """A change in words: `{"section", "name", "verb", "fields": [{"key", "before", "after"}]}`
    — for a rule its list, its name and each field that differs (values as JSON, `—` for
    none); for a setting its path and the one value. Reads old audit rows too."""
    was, now = change.get("before"), change.get("after")
    verb = "added" if was is None else "removed" if now is None else "changed"
    path = str(change.get("path", ""))
    section, bracket, _ = path.partition("[")
    if not bracket:
        fields = [{"key": "", "before": _shown(was), "after": _shown(now)}]
        return {"section": path, "name": "", "verb": verb, "fields": fields}
    item = now if isinstance(now, dict) else was if isinstance(was, dict) else {}
    name = next((str(item[k]) for k in NAME_KEYS if isinstance(item.get(k), str)), "")
    old = was if isinstance(was, dict) else {}
    new = now if isinstance(now, dict) else {}
    keys = sorted(
        {*old, *new},
        key=lambda k: (FIELD_ORDER.index(k), k) if k in FIELD_ORDER else (len(FIELD_ORDER), k),
    )
    fields = [
        {"key": key, "before": _shown(old.get(key)), "after": _shown(new.get(key))}
        for key in keys
        if old.get(key) != new.get(key)
    ]
    return {
        "section": section,
        "name": name or f"#{path[len(section) + 1 : -1]}",
        "verb": verb,
        "fields": fields,
    }
