"""A scoring-model version's change history as the admin shows it: when, what, who, and each
rule or setting that changed in words (rule lists and settings named as the editor names them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mqa.admin.rule_editor.rule_forms import FORMSETS, SETTINGS_PATHS, SettingsForm
from mqa.models import ScoringModelAudit
from mqa.scoring.diff import change_summary

SECTIONS = {".".join(path): title for _, path, title in FORMSETS.values()} | {"segments": "Segment"}
ROLE_WEIGHTS = ".".join(FORMSETS["role_weights"][1]) + "."


@dataclass(frozen=True)
class HistoryRow:
    entry: ScoringModelAudit
    what: str
    changes: list[dict[str, Any]]


def _section(path: str) -> str:
    if path in SECTIONS:
        return SECTIONS[path]
    if path.startswith(ROLE_WEIGHTS):
        return f"Weight of the role “{path[len(ROLE_WEIGHTS) :]}”"
    field = SETTINGS_PATHS.get(path)
    if field is not None:
        return str(SettingsForm.base_fields[field].label or path)
    return path


def audit_rows(*, version_id: int, limit: int = 20) -> list[HistoryRow]:
    entries = ScoringModelAudit.objects.filter(version_id=version_id).select_related("source")
    rows = []
    for entry in entries[:limit]:
        what = entry.get_action_display()
        if entry.source is not None:
            what += f" to v{entry.source.version}"
        changes = [change_summary(c) for c in entry.changes]
        for change in changes:
            change["title"] = _section(change["section"])
        rows.append(HistoryRow(entry, what, changes))
    return rows
