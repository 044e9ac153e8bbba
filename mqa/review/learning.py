"""What a calibration backtest's outcomes teach, on its page (issue 16, `mqa.reports.suggest`):
per-rule evidence (contacts, and accounts with their MQA criteria), attribute values no rule
uses, suggested points with the total re-chosen, and the version against the suggestion on a
seeded held-out part.

Its one button carries a signed note of the suggestion's inputs and of its document's digest;
the draft view recomputes the suggestion, refuses when it is refused (too few conversions, too
uncertain a rate) or when the outcomes changed since the page was shown, and otherwise imports
the document as a draft — creating nothing when it refuses."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from mqa.reports.backtest import BacktestError
from mqa.reports.suggest import (
    DEFAULT_SEED,
    SuggestionError,
    calibration_learning,
    calibration_suggestion,
)
from mqa.scoring import DocumentError
from mqa.services.model_versions import scoring_model_import

SUGGESTION_SALT = "mqa.review.calibration-suggestion"
KINDS = (
    ("fit", "Fit rules"),
    ("engagement", "Engagement rules"),
    ("disqualifier", "Disqualifiers"),
    ("account_fit", "Account fit rules"),
    ("signal", "Account signal rules"),
    ("account_disqualifier", "Account disqualifiers"),
    ("criterion", "MQA criteria (met as of the cut-off)"),
)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _decimal(value: float | None, places: int = 4) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def _evidence_row(entry: dict[str, Any]) -> dict[str, Any]:
    interval = entry["interval"]
    return {
        **entry,
        "rate": _percent(entry["conversion_rate"]),
        "rest_rate": _percent(entry["rest_conversion_rate"]),
        "lift_text": "—" if entry["lift"] is None else f"{entry['lift']:.2f}×",
        "interval_text": f"{_percent(interval[0])}–{_percent(interval[1])}" if interval else "—",
        "share": _percent(entry["conversion_share"]),
    }


def _evidence_tables(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One table per rule kind, in the evidence's order (highest lift first)."""
    return [
        {
            "kind": kind,
            "title": title,
            "rows": [_evidence_row(e) for e in evidence if e["kind"] == kind],
        }
        for kind, title in KINDS
        if any(e["kind"] == kind for e in evidence)
    ]


def _comparison_rows(comparison: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, version, suggestion), formatted."""
    version, suggestion = comparison["version"], comparison["suggestion"]
    volume = version["same_volume"]["volume"]
    metrics: list[tuple[str, Any]] = [
        ("ROC AUC", lambda f: _decimal(f["roc_auc"])),
        ("PR AUC (average precision)", lambda f: _decimal(f["pr_auc"])),
        (
            f"precision of the top {volume} (the version's MQL volume)",
            lambda f: _percent(f["same_volume"]["precision"]),
        ),
        (f"recall of the top {volume}", lambda f: _percent(f["same_volume"]["recall"])),
        ("MQLs at its own threshold", lambda f: str(f["at_threshold"]["volume"])),
        (
            "conversion rate at its threshold",
            lambda f: _percent(f["at_threshold"]["conversion_rate"]),
        ),
        ("recall at its threshold", lambda f: _percent(f["at_threshold"]["recall"])),
        ("F1 at its threshold", lambda f: _decimal(f["at_threshold"]["f1"])),
    ]
    return [(name, shape(version), shape(suggestion)) for name, shape in metrics]


def _digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def suggestion_token(
    *,
    cutoff: datetime,
    horizon_days: int,
    label: str,
    version_id: int,
    seed: int,
    document: dict[str, Any],
) -> str:
    """The signed note the suggestion's button carries: its inputs and its document's digest."""
    return signing.dumps(
        {
            "cutoff": cutoff.isoformat(),
            "horizon_days": horizon_days,
            "label": label,
            "version": version_id,
            "seed": seed,
            "digest": _digest(document),
        },
        salt=SUGGESTION_SALT,
    )


def learning_context(data: dict[str, Any], version_id: int) -> dict[str, Any]:
    """Evidence, unused values and (unless refused) the suggestion of this backtest, shaped
    for the page; a refused suggestion keeps the evidence, which needs no minimum."""
    seed = DEFAULT_SEED if data["seed"] is None else data["seed"]
    result = calibration_learning(
        cutoff=data["cutoff"],
        horizon_days=data["horizon_days"],
        label=data["label"],
        version_id=version_id,
        seed=seed,
    )
    shown = {
        "evidence": _evidence_tables(result["evidence"] + result["account_evidence"]),
        "unused_values": [_evidence_row(u) for u in result["unused_values"]],
        "refused": result["refused"],
    }
    if result["refused"]:
        return shown
    return {
        **shown,
        "split": result["split"],
        "suggestion": result["suggestion"],
        "comparison": _comparison_rows(result["comparison"]),
        "token": suggestion_token(
            cutoff=data["cutoff"],
            horizon_days=data["horizon_days"],
            label=data["label"],
            version_id=version_id,
            seed=seed,
            document=result["suggestion"]["document"],
        ),
    }


@staff_member_required
@require_POST
def calibration_suggestion_draft(request: HttpRequest) -> HttpResponse:
    """The suggestion of the page's backtest, recomputed, as a new draft."""
    try:
        note = signing.loads(request.POST.get("suggestion", ""), salt=SUGGESTION_SALT)
    except signing.BadSignature:
        return HttpResponse(
            "Cannot create the draft: run the backtest first: the button comes from its page",
            status=400,
        )
    try:
        result = calibration_suggestion(
            cutoff=datetime.fromisoformat(note["cutoff"]),
            horizon_days=note["horizon_days"],
            label=note["label"],
            version_id=note["version"],
            seed=note["seed"],
        )
    except (BacktestError, SuggestionError) as error:
        return HttpResponse(f"Cannot create the draft: {error}", status=400)
    document = result["suggestion"]["document"]
    if _digest(document) != note["digest"]:
        return HttpResponse(
            "Cannot create the draft: the outcomes changed since the page was shown;"
            " run the backtest again",
            status=409,
        )
    try:
        draft = scoring_model_import(document=document, user=request.user)
    except DocumentError as error:
        return HttpResponse(f"Cannot create the draft: {error}", status=400)
    return HttpResponseRedirect(reverse("admin:mqa_scoringmodelversion_change", args=[draft.pk]))
