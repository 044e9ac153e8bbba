"""Which segment a record is in, and the model it is scored with (SPEC §3 *Segments*).

An account's segment is the first, in document order, whose conditions all hold on it; a
contact's is its linked account's (none when unlinked). A record in a segment is scored with
the segment's effective model (`Segment.contact` / `Segment.account`, merged at parse time),
a record in none with the top-level model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mqa.scoring.attributes import read_record
from mqa.scoring.operators import evaluate
from mqa.scoring.types import (
    AccountModel,
    ActivityRule,
    ContactModel,
    ScoringModel,
    Segment,
)


def segment_of(model: ScoringModel, account: Mapping[str, Any] | None) -> Segment | None:
    """The segment of an account (its attribute mapping), or of a contact given its linked
    account's mapping; None for no account or no matching segment."""
    if not account:
        return None
    for segment in model.segments:
        if all(evaluate(c.op, read_record(account, c.attribute), c.value) for c in segment.when):
            return segment
    return None


def segment_named(model: ScoringModel, name: str | None) -> Segment | None:
    """The segment a stored score names (None for none, or a name the model no longer has)."""
    return next((s for s in model.segments if s.name == name), None) if name else None


def contact_model(model: ScoringModel, segment: Segment | None) -> ContactModel:
    return segment.contact if segment else model.contact


def account_model(model: ScoringModel, segment: Segment | None) -> AccountModel:
    return segment.account if segment else model.account


def contact_models(model: ScoringModel) -> tuple[ContactModel, ...]:
    """The top-level contact model, then each segment's effective one."""
    return (model.contact, *(s.contact for s in model.segments))


def account_models(model: ScoringModel) -> tuple[AccountModel, ...]:
    return (model.account, *(s.account for s in model.segments))


def engagement_rules(model: ScoringModel) -> tuple[ActivityRule, ...]:
    """Every engagement rule some record may be scored with, without repeats, in order."""
    return tuple(dict.fromkeys(r for m in contact_models(model) for r in m.engagement_rules))


def signal_rules(model: ScoringModel) -> tuple[ActivityRule, ...]:
    return tuple(dict.fromkeys(r for m in account_models(model) for r in m.signal_rules))
