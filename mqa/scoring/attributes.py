"""Which attributes rules may name, and how they are read from a record (SPEC §3 "Attributes").

A record is a plain mapping of its §2 fields, with `custom` a JSON object; a contact's mapping
carries its linked account's mapping under `"account"` (None when unlinked). Everything after
`custom.` is one flat key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mqa.scoring.operators import MISSING

ACCOUNT_FIELDS = frozenset(
    {
        "domain",
        "name",
        "industry",
        "employee_count",
        "annual_revenue",
        "country",
        "region",
        "tier",
        "is_target",
        "owner",
        "external_id",
    }
)
CONTACT_FIELDS = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "title",
        "seniority",
        "job_function",
        "buying_role",
        "country",
        "lead_source",
        "email_domain",
    }
)
# The fields that are not strings (SPEC §2); every other field is text.
NUMBER_FIELDS = frozenset({"employee_count", "annual_revenue"})
BOOLEAN_FIELDS = frozenset({"is_target"})
CUSTOM = "custom."
ACCOUNT = "account."


def _is_custom(name: str) -> bool:
    return name.startswith(CUSTOM) and len(name) > len(CUSTOM)


def is_account_attribute(name: str) -> bool:
    return name in ACCOUNT_FIELDS or _is_custom(name)


def is_contact_attribute(name: str) -> bool:
    if name in CONTACT_FIELDS or _is_custom(name):
        return True
    return name.startswith(ACCOUNT) and is_account_attribute(name[len(ACCOUNT) :])


def read_record(record: Mapping[str, Any], name: str) -> Any:
    """The value of an account attribute (or a contact's own field) in `record`, or MISSING."""
    if name.startswith(CUSTOM):
        custom = record.get("custom")
        return custom.get(name[len(CUSTOM) :], MISSING) if isinstance(custom, Mapping) else MISSING
    return record.get(name, MISSING)


def read_contact(contact: Mapping[str, Any], name: str) -> Any:
    """The value of a contact attribute, following `account.` into the linked account."""
    if name.startswith(ACCOUNT):
        account = contact.get("account")
        return read_record(account, name[len(ACCOUNT) :]) if account else MISSING
    if name == "email_domain":
        email = contact.get("email")
        return email.rpartition("@")[2] if isinstance(email, str) and "@" in email else MISSING
    return read_record(contact, name)
