"""The scoring engine: SPEC §3–§4 as pure functions over frozen dataclasses.

No Django, no clock, no settings; imports nothing outside `mqa.scoring`. Services load
records into these types, call `score_contact` / `score_account`, and store the results.
"""

from mqa.scoring.document import dump_document, parse_document
from mqa.scoring.engine import (
    contributing_activities,
    lookback_days,
    score_account,
    score_account_in_segment,
    score_contact,
    score_contact_in_segment,
)
from mqa.scoring.reader import DocumentError
from mqa.scoring.types import (
    AccountModel,
    AccountResult,
    Activity,
    CommitteeMember,
    ContactModel,
    ContactResult,
    ScoringModel,
    Segment,
)

__all__ = [
    "AccountModel",
    "AccountResult",
    "Activity",
    "CommitteeMember",
    "ContactModel",
    "ContactResult",
    "DocumentError",
    "ScoringModel",
    "Segment",
    "contributing_activities",
    "dump_document",
    "lookback_days",
    "parse_document",
    "score_account",
    "score_account_in_segment",
    "score_contact",
    "score_contact_in_segment",
]
