"""What a contact still lacks to be an MQL (`contact_missing`, pure): one entry per contact
threshold not met, in the order `fit_floor`, `engagement_floor`, `total`."""

from __future__ import annotations

from mqa.scoring.missing import contact_missing
from mqa.scoring.types import ContactThresholds

THRESHOLDS = ContactThresholds(total=70, fit_floor=30, engagement_floor=20, engaged=10)


def test_a_contact_meeting_every_threshold_lacks_nothing():
    assert contact_missing(THRESHOLDS, fit=30, engagement=40) == ()


def test_each_threshold_not_met_is_named_with_its_actual_and_required_value():
    assert contact_missing(THRESHOLDS, fit=20, engagement=10.5) == (
        {"criterion": "fit_floor", "actual": 20, "required": 30},
        {"criterion": "engagement_floor", "actual": 10.5, "required": 20},
        {"criterion": "total", "actual": 30.5, "required": 70},
    )


def test_floors_met_but_the_total_short_lacks_only_the_total():
    assert contact_missing(THRESHOLDS, fit=40, engagement=29.99) == (
        {"criterion": "total", "actual": 69.99, "required": 70},
    )


def test_the_total_is_rounded_as_a_scores_total_is():
    # 0.1 + 0.2 is 0.30000000000000004 in floating point; a total is rounded to 2 decimals.
    thresholds = ContactThresholds(total=1)

    assert contact_missing(thresholds, fit=0, engagement=0.1 + 0.2) == (
        {"criterion": "total", "actual": 0.3, "required": 1},
    )
