"""Normalisation of keys and names, the same at ingest and in rules (SPEC §2)."""

from __future__ import annotations

import re

TYPE_PATTERN = re.compile(r"[a-z0-9_.-]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_PORT = re.compile(r":\d*$")


def normalize_email(value: str) -> str | None:
    """Trimmed and lower-cased; None unless it contains `@` with something on both sides."""
    email = value.strip().lower()
    local, at, domain = email.rpartition("@")
    return email if at and local and domain else None


def email_domain(email: str) -> str:
    return email.rpartition("@")[2]


def normalize_domain(value: str) -> str | None:
    """`https://user@www.Acme.com:443/x?y#z` → `acme.com`; None when nothing is left."""
    domain = value.strip().lower()
    domain = _SCHEME.sub("", domain)
    domain = re.split(r"[/?#]", domain, maxsplit=1)[0]
    domain = domain.rpartition("@")[2]
    domain = _PORT.sub("", domain)
    domain = domain.rstrip(".")
    if domain.startswith("www."):
        domain = domain[len("www.") :]
    return domain or None


def normalize_type(value: str) -> str | None:
    """Event/signal types, roles: trimmed, lower-cased, `[a-z0-9_.-]+`; None otherwise."""
    name = value.strip().lower()
    return name if TYPE_PATTERN.fullmatch(name) else None


def normalize_role(value: str | None) -> str | None:
    """A `buying_role`: trimmed and lower-cased; empty means none."""
    if value is None:
        return None
    return value.strip().lower() or None


def parent_domains(domain: str) -> list[str]:
    """`eu.acme.com` → [`eu.acme.com`, `acme.com`, `com`]: candidates on label boundaries."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]
