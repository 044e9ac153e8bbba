"""What changed between two scoring-model documents, rule by rule (for the audit trail)."""

from __future__ import annotations

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


def _get(document: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    value: Any = document or {}
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def document_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """`[{"path", "before", "after"}]`: each rule added, removed or edited, each setting changed."""
    changes = []
    for path in RULE_LISTS:
        old, new = _get(before, path) or [], _get(after, path) or []
        for index in range(max(len(old), len(new))):
            was = old[index] if index < len(old) else None
            now = new[index] if index < len(new) else None
            if was != now:
                changes.append({"path": f"{'.'.join(path)}[{index}]", "before": was, "after": now})
    for path in SCALARS:
        was, now = _get(before, path), _get(after, path)
        if was != now:
            changes.append({"path": ".".join(path), "before": was, "after": now})
    return changes
