"""Frozen inputs and outputs of the scoring engine (SPEC §3–§4).

Nothing here touches Django, the clock or settings: callers load records into these
dataclasses, call `engine`, and store what comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class Condition:
    """`attribute op value`; for event/signal `where` conditions `attribute` is a property key."""

    attribute: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class FitRule:
    label: str
    condition: Condition
    points: int


@dataclass(frozen=True)
class ActivityRule:
    """An engagement rule (over contact events) or a signal rule (over account signals)."""

    label: str
    type: str
    points: int
    where: tuple[Condition, ...] = ()
    max_count: int | None = None
    window_days: float | None = None
    half_life_days: float | None = None


@dataclass(frozen=True)
class Disqualifier:
    condition: Condition
    reason: str


@dataclass(frozen=True)
class ContactThresholds:
    total: float
    fit_floor: float = 0
    engagement_floor: float = 0
    engaged: float = 0


@dataclass(frozen=True)
class AccountThresholds:
    fit_floor: float = 0
    engagement: float = 0
    min_engaged_contacts: int = 1
    min_roles: int = 0
    required_roles: tuple[str, ...] = ()
    min_mql_contacts: int = 0


@dataclass(frozen=True)
class ContactModel:
    thresholds: ContactThresholds
    fit_cap: int = 100
    fit_rules: tuple[FitRule, ...] = ()
    engagement_cap: int = 100
    engagement_rules: tuple[ActivityRule, ...] = ()
    disqualifiers: tuple[Disqualifier, ...] = ()


@dataclass(frozen=True)
class AccountModel:
    thresholds: AccountThresholds = AccountThresholds()
    fit_cap: int = 100
    fit_rules: tuple[FitRule, ...] = ()
    signal_rules: tuple[ActivityRule, ...] = ()
    disqualifiers: tuple[Disqualifier, ...] = ()
    role_weights: Mapping[str, float] = field(default_factory=dict)
    default_role_weight: float = 1.0


@dataclass(frozen=True)
class Segment:
    """An account segment (SPEC §3 *Segments*) with its *effective* models: each key the
    segment gives replaces the top-level key whole, `thresholds` merge key by key.

    `contact_overrides` / `account_overrides` name what the segment gives, in document order
    of the keys (`fit`, `thresholds.total`, …): everything else is inherited.
    """

    name: str
    when: tuple[Condition, ...]
    contact: ContactModel
    account: AccountModel
    contact_overrides: tuple[str, ...] = ()
    account_overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoringModel:
    name: str
    contact: ContactModel
    account: AccountModel = AccountModel()
    segments: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class Activity:
    """One engagement event or account signal."""

    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommitteeMember:
    """A linked contact as the account rollup sees it (its already computed score)."""

    email: str
    buying_role: str | None
    status: str
    engagement: float


@dataclass(frozen=True)
class ContactResult:
    fit: int
    engagement: float
    status: str
    disqualified_reasons: tuple[str, ...]
    breakdown: dict[str, Any]
    segment: str | None = None

    @property
    def total(self) -> float:
        return round_score(self.fit + self.engagement)


@dataclass(frozen=True)
class AccountResult:
    fit: int
    signal_score: float
    engagement: float
    status: str
    engaged_contacts: int
    mql_contacts: int
    roles_covered: tuple[str, ...]
    missing: tuple[dict[str, Any], ...]
    disqualified_reasons: tuple[str, ...]
    breakdown: dict[str, Any]
    segment: str | None = None


def round_score(value: float) -> float:
    """Round to 2 decimals, half away from zero (on the decimal reading of the float)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
