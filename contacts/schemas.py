"""Ingest schemas for contacts and engagement events: typed, never coerced (SPEC §2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from mqa.batch import Invalid, clean_text
from mqa.schemas import (
    UNSET,
    AwareDatetime,
    Key,
    Text,
    Unset,
    country_or_invalid,
    domain_or_invalid,
    non_blank,
    occurred_at_or_invalid,
    type_or_invalid,
)
from mqa.scoring.attributes import CONTACT_FIELDS
from mqa.scoring.normalize import normalize_email, normalize_role

# The text fields rules see (SPEC §3, `mqa.scoring.attributes`) that are trimmed as they are;
# the email and the buying role have their own normalisation, the email domain is derived.
TEXT_FIELDS = tuple(sorted(CONTACT_FIELDS - {"email", "email_domain", "buying_role"}))


def email_or_invalid(value: str) -> str:
    email = normalize_email(value)
    if email is None or len(email) > 320:
        raise Invalid("email", "is not a valid email address")
    return email


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    first_name: Text | Unset | None = UNSET
    last_name: Text | Unset | None = UNSET
    title: Text | Unset | None = UNSET
    seniority: Text | Unset | None = UNSET
    job_function: Text | Unset | None = UNSET
    buying_role: Text | Unset | None = UNSET
    country: Text | Unset | None = UNSET
    lead_source: Text | Unset | None = UNSET
    account_domain: str | Unset | None = UNSET
    custom: dict[str, Any] | Unset | None = UNSET


def clean_contact(item: ContactIn) -> ContactIn:
    item.email = email_or_invalid(item.email)
    clean_text(item, TEXT_FIELDS)
    if not isinstance(item.country, msgspec.UnsetType):
        item.country = country_or_invalid(item.country)
    if not isinstance(item.buying_role, msgspec.UnsetType):
        item.buying_role = normalize_role(item.buying_role)
    if isinstance(item.account_domain, str):
        item.account_domain = domain_or_invalid("account_domain", item.account_domain)
    if item.custom is None:
        item.custom = {}
    return item


class EventIn(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    type: str
    occurred_at: AwareDatetime
    id: Key
    properties: dict[str, Any] = {}
    source: Key = "api"


def event_cleaner(now: datetime) -> Callable[[EventIn], EventIn]:
    def clean(item: EventIn) -> EventIn:
        item.email = email_or_invalid(item.email)
        item.type = type_or_invalid("type", item.type)
        item.occurred_at = occurred_at_or_invalid(item.occurred_at, now)
        item.id = non_blank("id", item.id)
        item.source = non_blank("source", item.source)
        return item

    return clean
