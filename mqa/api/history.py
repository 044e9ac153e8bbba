from __future__ import annotations

from typing import Any

from mqa.models import StatusChange


def status_change_out(change: StatusChange) -> dict[str, Any]:
    return {
        "from_status": change.from_status,
        "to_status": change.to_status,
        "changed_at": change.changed_at,
        "cause": change.cause,
        "model_version": change.model_version.version,
        "segment": change.explanation.get("segment"),
        "scores": change.scores,
        "explanation": change.explanation,
    }
