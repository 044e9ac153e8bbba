"""What a contact still lacks to be an MQL (SPEC §4), the contact's counterpart of an
account's `missing`: entries `{"criterion", "actual", "required"}`, one per contact threshold
not met, in the order `fit_floor`, `engagement_floor`, `total`; none for an MQL.

Only thresholds are measured: a disqualifier is not a criterion (the record's
`disqualified_reasons` tell it), as an account's `missing` is reported whether or not the
account is disqualified. Pure, like the engine.
"""

from __future__ import annotations

from typing import Any

from mqa.scoring.types import ContactThresholds, round_score


def contact_missing(
    thresholds: ContactThresholds, *, fit: int, engagement: float
) -> tuple[dict[str, Any], ...]:
    """The MQL criteria a contact with these (rounded) scores does not meet, judged as
    `score_contact` judges them; the total is reported rounded, as a score's total is."""
    t = thresholds
    total = fit + engagement
    # (criterion, the value judged, the value reported, the threshold)
    judged = (
        ("fit_floor", fit, fit, t.fit_floor),
        ("engagement_floor", engagement, engagement, t.engagement_floor),
        ("total", total, round_score(total), t.total),
    )
    return tuple(
        {"criterion": criterion, "actual": reported, "required": required}
        for criterion, value, reported, required in judged
        if value < required
    )
