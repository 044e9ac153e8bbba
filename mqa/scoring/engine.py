"""Scores and statuses as of a time `now` (SPEC §4). Pure: the same inputs give the same result.

`score_contact` turns a contact (a mapping of its fields, with its linked account under
`"account"`) and its events into fit, engagement, status and an explanation. `score_account`
rolls the already computed scores of an account's contacts up with its own fit and signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from mqa.scoring.attributes import read_contact, read_record
from mqa.scoring.operators import MISSING, evaluate
from mqa.scoring.segments import account_model, contact_model, segment_of
from mqa.scoring.types import (
    AccountModel,
    AccountResult,
    Activity,
    ActivityRule,
    CommitteeMember,
    Condition,
    ContactModel,
    ContactResult,
    Disqualifier,
    FitRule,
    ScoringModel,
    round_score,
)

FUTURE_TOLERANCE_SECONDS = 300
DAY_SECONDS = 86400.0

Reader = Callable[[Mapping[str, Any], str], Any]


def _holds(condition: Condition, record: Mapping[str, Any], read: Reader) -> bool:
    return evaluate(condition.op, read(record, condition.attribute), condition.value)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def fit_points(
    rules: Sequence[FitRule], cap: int, record: Mapping[str, Any], read: Reader
) -> tuple[int, list[dict[str, Any]]]:
    matched = [rule for rule in rules if _holds(rule.condition, record, read)]
    explanation = [
        {"label": rule.label, "attribute": rule.condition.attribute, "points": rule.points}
        for rule in matched
    ]
    return int(_clamp(sum(rule.points for rule in matched), 0, cap)), explanation


def disqualified_reasons(
    disqualifiers: Sequence[Disqualifier], record: Mapping[str, Any], read: Reader
) -> tuple[str, ...]:
    reasons: dict[str, None] = {}  # ordered set: model order, no repeats
    for disqualifier in disqualifiers:
        if _holds(disqualifier.condition, record, read):
            reasons[disqualifier.reason] = None
    return tuple(reasons)


def _read_property(properties: Mapping[str, Any], key: str) -> Any:
    return properties.get(key, MISSING)


def _rule_matches(rule: ActivityRule, activity: Activity, now: datetime) -> bool:
    if activity.type != rule.type:
        return False
    offset = (now - activity.occurred_at).total_seconds()
    if offset < -FUTURE_TOLERANCE_SECONDS:
        return False
    if rule.window_days is not None and offset > rule.window_days * DAY_SECONDS:
        return False
    return all(_holds(c, activity.properties, _read_property) for c in rule.where)


def _counted(rule: ActivityRule, activities: Sequence[Activity], now: datetime) -> list[Activity]:
    """The activities a rule counts: its `max_count` most recent matching ones, newest first."""
    matching = sorted(
        (a for a in activities if _rule_matches(rule, a, now)),
        key=lambda a: a.occurred_at,
        reverse=True,
    )
    return matching[: rule.max_count] if rule.max_count is not None else matching


def contributing_activities(
    rules: Sequence[ActivityRule], activities: Iterable[Activity], now: datetime
) -> list[tuple[ActivityRule, Activity]]:
    """Each activity that earns points at `now`, with the rule it counts for (why a score is
    what it is: a handoff's context)."""
    activities = list(activities)
    return [(rule, a) for rule in rules for a in _counted(rule, activities, now)]


def activity_points(
    rules: Sequence[ActivityRule], activities: Iterable[Activity], now: datetime
) -> tuple[float, list[dict[str, Any]]]:
    """Σ over rules of the decayed points of their `max_count` most recent matching activities."""
    activities = list(activities)
    total = 0.0
    explanation = []
    for rule in rules:
        matching = [a.occurred_at for a in _counted(rule, activities, now)]
        if not matching:
            continue
        points = 0.0
        for occurred_at in matching:
            if rule.half_life_days is None:
                points += rule.points
            else:
                age_days = max(0.0, (now - occurred_at).total_seconds()) / DAY_SECONDS
                points += rule.points * 0.5 ** (age_days / rule.half_life_days)
        total += points
        explanation.append(
            {
                "label": rule.label,
                "type": rule.type,
                "count": len(matching),
                "points": round_score(points),
            }
        )
    return total, explanation


def score_contact(
    model: ContactModel,
    contact: Mapping[str, Any],
    events: Iterable[Activity],
    now: datetime,
    *,
    segment: str | None = None,
) -> ContactResult:
    """A contact scored with one contact model; `segment` names the segment it came from."""
    fit, fit_explained = fit_points(model.fit_rules, model.fit_cap, contact, read_contact)
    raw, engagement_explained = activity_points(model.engagement_rules, events, now)
    engagement = round_score(_clamp(raw, 0, model.engagement_cap))
    reasons = disqualified_reasons(model.disqualifiers, contact, read_contact)
    t = model.thresholds
    if reasons:
        status = "disqualified"
    elif fit >= t.fit_floor and engagement >= t.engagement_floor and fit + engagement >= t.total:
        status = "mql"
    elif engagement > 0 and engagement >= t.engaged:
        status = "engaged"
    else:
        status = "none"
    breakdown = {
        "segment": segment,
        "fit": fit_explained,
        "engagement": engagement_explained,
        "disqualifiers": list(reasons),
    }
    return ContactResult(fit, engagement, status, reasons, breakdown, segment)


def _missing_criteria(
    model: AccountModel,
    fit: int,
    engagement: float,
    engaged: int,
    mql: int,
    roles: tuple[str, ...],
) -> tuple[dict[str, Any], ...]:
    t = model.thresholds
    missing = []

    def require(criterion: str, met: bool, actual: Any, required: Any) -> None:
        if not met:
            missing.append({"criterion": criterion, "actual": actual, "required": required})

    require("fit_floor", fit >= t.fit_floor, fit, t.fit_floor)
    require(
        "min_engaged_contacts",
        engaged >= t.min_engaged_contacts,
        engaged,
        t.min_engaged_contacts,
    )
    require("min_roles", len(roles) >= t.min_roles, len(roles), t.min_roles)
    require(
        "required_roles",
        set(t.required_roles) <= set(roles),
        list(roles),
        list(t.required_roles),
    )
    require("engagement", engagement >= t.engagement, engagement, t.engagement)
    require("min_mql_contacts", mql >= t.min_mql_contacts, mql, t.min_mql_contacts)
    return tuple(missing)


def score_account(
    model: AccountModel,
    account: Mapping[str, Any],
    contacts: Iterable[CommitteeMember],
    signals: Iterable[Activity],
    now: datetime,
    *,
    segment: str | None = None,
) -> AccountResult:
    """An account scored with one account model; `segment` names the segment it came from."""
    fit, fit_explained = fit_points(model.fit_rules, model.fit_cap, account, read_record)
    raw_signals, signals_explained = activity_points(model.signal_rules, signals, now)
    signal_score = round_score(max(0.0, raw_signals))
    reasons = disqualified_reasons(model.disqualifiers, account, read_record)

    eligible = sorted((c for c in contacts if c.status != "disqualified"), key=lambda c: c.email)
    engaged = [c for c in eligible if c.status in ("engaged", "mql")]
    mql_count = sum(1 for c in eligible if c.status == "mql")
    roles = tuple(sorted({c.buying_role for c in engaged if c.buying_role}))
    contributions = []
    weighted = 0.0
    for member in eligible:
        weight = model.role_weights.get(member.buying_role or "", model.default_role_weight)
        weighted += member.engagement * weight
        contributions.append(
            {
                "email": member.email,
                "buying_role": member.buying_role,
                "status": member.status,
                "engagement": member.engagement,
                "weight": weight,
                "points": round_score(member.engagement * weight),
            }
        )
    engagement = round_score(weighted + signal_score)
    missing = _missing_criteria(model, fit, engagement, len(engaged), mql_count, roles)

    if reasons:
        status = "disqualified"
    elif not missing:
        status = "mqa"
    elif engaged or signal_score > 0:
        status = "engaged"
    else:
        status = "none"
    breakdown = {
        "segment": segment,
        "fit": fit_explained,
        "signals": signals_explained,
        "contacts": contributions,
        "disqualifiers": list(reasons),
        "missing": list(missing),
    }
    return AccountResult(
        fit=fit,
        signal_score=signal_score,
        engagement=engagement,
        status=status,
        engaged_contacts=len(engaged),
        mql_contacts=mql_count,
        roles_covered=roles,
        missing=missing,
        disqualified_reasons=reasons,
        breakdown=breakdown,
        segment=segment,
    )


def score_contact_in_segment(
    model: ScoringModel, contact: Mapping[str, Any], events: Iterable[Activity], now: datetime
) -> ContactResult:
    """A contact scored with the effective model of its linked account's segment (§3)."""
    segment = segment_of(model, contact.get("account"))
    return score_contact(
        contact_model(model, segment),
        contact,
        events,
        now,
        segment=segment.name if segment else None,
    )


def score_account_in_segment(
    model: ScoringModel,
    account: Mapping[str, Any],
    contacts: Iterable[CommitteeMember],
    signals: Iterable[Activity],
    now: datetime,
) -> AccountResult:
    """An account scored with the effective model of its segment (§3)."""
    segment = segment_of(model, account)
    return score_account(
        account_model(model, segment),
        account,
        contacts,
        signals,
        now,
        segment=segment.name if segment else None,
    )


def lookback_days(rules: Sequence[ActivityRule]) -> float | None:
    """The longest window any rule looks back over; None when some rule has no window."""
    if any(rule.window_days is None for rule in rules):
        return None
    return max((rule.window_days or 0.0 for rule in rules), default=0.0)
