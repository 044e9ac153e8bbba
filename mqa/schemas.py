"""Field types and cleaners shared by the ingest schemas of accounts and contacts (SPEC §2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec

from mqa.batch import Invalid
from mqa.scoring.engine import FUTURE_TOLERANCE_SECONDS
from mqa.scoring.normalize import normalize_domain, normalize_type

UNSET: Any = msgspec.UNSET
Unset = msgspec.UnsetType
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Text = Annotated[str, msgspec.Meta(max_length=255)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
# A PostgreSQL `bigint` column: a number outside it is the client's error, named, not a 500.
BigInt = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_COUNTRY = re.compile(r"[A-Za-z]{2}")


def domain_or_invalid(field: str, value: str) -> str:
    domain = normalize_domain(value)
    if domain is None or len(domain) > 253 or any(c.isspace() for c in domain):
        raise Invalid(field, "is not a valid domain")
    return domain


def type_or_invalid(field: str, value: str) -> str:
    name = normalize_type(value)
    if name is None or len(name) > 100:
        raise Invalid(field, "must be letters, digits, '_', '.' or '-' (at most 100)")
    return name


def country_or_invalid(value: str | None) -> str | None:
    if value is None:
        return None
    if not _COUNTRY.fullmatch(value):
        raise Invalid("country", "must be an ISO 3166 alpha-2 code such as 'DE'")
    return value.upper()


def utc_or_invalid(field: str, value: datetime) -> datetime:
    """The instant in UTC; one that falls outside years 1–9999 there is invalid (SPEC §7)."""
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise Invalid(field, "is outside the years 1–9999 once its offset is applied") from error


def occurred_at_or_invalid(value: datetime, now: datetime) -> datetime:
    # Stored in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts.
    value = utc_or_invalid("occurred_at", value)
    if value > now + timedelta(seconds=FUTURE_TOLERANCE_SECONDS):
        raise Invalid("occurred_at", "is more than 300 seconds in the future")
    return value


def non_blank(field: str, value: str) -> str:
    if not value.strip():
        raise Invalid(field, "must not be blank")
    return value.strip()
