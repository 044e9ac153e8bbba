"""Ingest schemas for accounts and account signals: typed, never coerced (SPEC §2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from mqa.batch import clean_text
from mqa.schemas import (
    UNSET,
    AwareDatetime,
    BigInt,
    Key,
    Text,
    Unset,
    country_or_invalid,
    domain_or_invalid,
    non_blank,
    occurred_at_or_invalid,
    type_or_invalid,
)
from mqa.scoring.attributes import ACCOUNT_FIELDS, BOOLEAN_FIELDS, NUMBER_FIELDS

# The account fields rules see (SPEC §3, `mqa.scoring.attributes`) that are text; the domain
# has its own normalisation.
TEXT_FIELDS = tuple(sorted(ACCOUNT_FIELDS - NUMBER_FIELDS - BOOLEAN_FIELDS - {"domain"}))


class AccountIn(msgspec.Struct, forbid_unknown_fields=True):
    domain: str
    name: Text | Unset | None = UNSET
    industry: Text | Unset | None = UNSET
    employee_count: BigInt | Unset | None = UNSET
    annual_revenue: float | Unset | None = UNSET
    country: Text | Unset | None = UNSET
    region: Text | Unset | None = UNSET
    tier: Text | Unset | None = UNSET
    is_target: bool | Unset | None = UNSET
    owner: Text | Unset | None = UNSET
    external_id: Text | Unset | None = UNSET
    custom: dict[str, Any] | Unset | None = UNSET


def clean_account(item: AccountIn) -> AccountIn:
    item.domain = domain_or_invalid("domain", item.domain)
    clean_text(item, TEXT_FIELDS)
    if not isinstance(item.country, msgspec.UnsetType):
        item.country = country_or_invalid(item.country)
    if item.is_target is None:
        item.is_target = False  # null clears: back to the default
    if item.custom is None:
        item.custom = {}
    return item


class SignalIn(msgspec.Struct, forbid_unknown_fields=True):
    account_domain: str
    type: str
    occurred_at: AwareDatetime
    id: Key
    properties: dict[str, Any] = {}
    source: Key = "api"


def signal_cleaner(now: datetime) -> Callable[[SignalIn], SignalIn]:
    def clean(item: SignalIn) -> SignalIn:
        item.account_domain = domain_or_invalid("account_domain", item.account_domain)
        item.type = type_or_invalid("type", item.type)
        item.occurred_at = occurred_at_or_invalid(item.occurred_at, now)
        item.id = non_blank("id", item.id)
        item.source = non_blank("source", item.source)
        return item

    return clean
