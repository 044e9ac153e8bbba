"""Erasure of contacts by email (SPEC §7 *Erasure*).

`contacts_erase` deletes each contact with its events, scores and status history; keeps its
handoffs for the funnel but cuts them loose from the person (no contact, no note, no context); removes the
address from every webhook payload not delivered yet and from the explanations of its
account's score and status history; marks the account stale so that it is rescored without the
contact; puts the address on the suppression list (a keyed hash only, `contacts.suppression`)
so that later items for it are not stored; forgets the Tracking-API messages applied to it and
the user and anonymous ids tied to it; and records who erased how many, and when — never
which addresses. An address without a contact is still suppressed (and counts 0).

Everything happens in one transaction holding the erasure lock exclusively, so no ingest can
store an item for an address between its deletion and its suppression.

Step layer: the tables, the suppression list and the work queue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, ErasureAudit
from contacts.suppression import emails_suppress, suppression_lock
from mqa.batch import Invalid
from mqa.models import (
    AccountScore,
    AccountStatusChange,
    Handoff,
    RecordKind,
    WebhookDelivery,
)
from mqa.scoring.normalize import normalize_email
from mqa.services.work_queue import work_add, work_drop
from tracking.models import Identity, TrackedMessage

MAX_EMAILS = 1000
SCAN_CHUNK = 500


@dataclass(frozen=True)
class ErasureResult:
    erased: int

    def as_dict(self) -> dict[str, int]:
        return {"erased": self.erased}


def erasure_emails_parse(document: Any) -> list[str]:
    """The normalised emails of a `{"emails": [...]}` body; `Invalid` names the bad field."""
    if not isinstance(document, dict) or "emails" not in document:
        raise Invalid("emails", 'the body must be {"emails": [...]}')
    unknown = sorted(set(document) - {"emails"})
    if unknown:
        raise Invalid(unknown[0], "unknown key")
    return emails_parse(document["emails"])


def emails_parse(values: Any) -> list[str]:
    """1 to 1000 email strings, normalised as contacts normalise them."""
    if not isinstance(values, list) or not values:
        raise Invalid("emails", "must be a list of 1 to 1000 email addresses")
    if len(values) > MAX_EMAILS:
        raise Invalid("emails", f"at most {MAX_EMAILS} addresses per request, got {len(values)}")
    emails = []
    for index, value in enumerate(values):
        email = normalize_email(value) if isinstance(value, str) else None
        if email is None or len(email) > 320:
            raise Invalid(f"emails[{index}]", "is not a valid email address")
        emails.append(email)
    return emails


def contacts_erase(
    *, emails: Iterable[str], actor: str, now: datetime | None = None
) -> ErasureResult:
    """Erase and suppress these addresses (normalised here too); `erased` counts contacts."""
    wanted = sorted(set(emails_parse(list(emails))))
    now = now or timezone.now()
    with transaction.atomic():
        suppression_lock(exclusive=True)
        emails_suppress(emails=wanted)
        found = list(
            Contact.objects.select_for_update()
            .filter(email__in=wanted)
            .order_by("pk")
            .values_list("id", "account_id")
        )
        contact_ids = [contact_id for contact_id, _ in found]
        account_ids = sorted({account_id for _, account_id in found if account_id is not None})
        # Handoffs stay (the funnel counts them) without the person: no contact, no note.
        Handoff.objects.filter(contact_id__in=contact_ids).update(
            contact=None, note="", context={}, updated_at=now
        )
        # Events, scores and status history go with the contact (on delete cascade); so does
        # its pending rescore (the work queue has no key to the contact): a drain would
        # otherwise write a score for a contact that no longer exists.
        Contact.objects.filter(pk__in=contact_ids).delete()
        work_drop(kind=RecordKind.CONTACT, ids=contact_ids)
        # The Tracking API's record of the person: the messages applied to the address and
        # the userIds/anonymousIds tied to it (SPEC §9).
        TrackedMessage.objects.filter(email__in=wanted).delete()
        Identity.objects.filter(email__in=wanted).delete()
        scrub = _Scrubber(wanted)
        _webhook_payloads_scrub(scrub)
        _account_explanations_scrub(scrub, account_ids)
        _account_handoffs_scrub(scrub, account_ids)
        work_add(kind=RecordKind.ACCOUNT, ids=account_ids)
        ErasureAudit.objects.create(
            actor=actor[:255], requested=len(wanted), erased=len(contact_ids), at=now
        )
    return ErasureResult(erased=len(contact_ids))


class _Scrubber:
    """Removes the addresses from JSON values: a string that is one becomes null, one that
    holds one loses it, and an object in a list that names one (a contact's contribution to
    an account) is left out."""

    def __init__(self, emails: list[str]) -> None:
        alternatives = "|".join(re.escape(e) for e in sorted(emails, key=len, reverse=True))
        # Not inside a longer address: no address character before, none (nor `.x`) after.
        self.pattern = re.compile(rf"(?<![\w.%+-])(?:{alternatives})(?![\w-]|\.\w)", re.IGNORECASE)

    def finds(self, value: Any) -> bool:
        return bool(self.pattern.search(json.dumps(value, ensure_ascii=False)))

    def names(self, value: Any) -> bool:
        return isinstance(value, str) and self.pattern.fullmatch(value) is not None

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return None if self.names(value) else self.pattern.sub("", value)
        if isinstance(value, list):
            return [
                self(item)
                for item in value
                if not (isinstance(item, dict) and any(self.names(v) for v in item.values()))
            ]
        if isinstance(value, dict):
            return {
                (self.pattern.sub("", key) if isinstance(key, str) else key): self(item)
                for key, item in value.items()
            }
        return value


def _webhook_payloads_scrub(scrub: _Scrubber) -> None:
    """Every delivery not delivered yet (pending, or dead and retryable) loses the addresses.

    The outbox is scanned in chunks: JSON text search in the database would not find an
    address SQLite stores escaped (non-ASCII), and the undelivered outbox is small.
    """
    undelivered = WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.DELIVERED)
    # Collected before writing: SQLite does not isolate a running read from the writes.
    changed = [
        (delivery_id, scrub(payload))
        for delivery_id, payload in undelivered.order_by("id")
        .values_list("id", "payload")
        .iterator(chunk_size=SCAN_CHUNK)
        if scrub.finds(payload)
    ]
    for delivery_id, payload in changed:
        undelivered.filter(pk=delivery_id).update(payload=payload)


def _account_explanations_scrub(scrub: _Scrubber, account_ids: list[int]) -> None:
    """The account's score breakdown and history name its contacts: not the erased ones."""
    for score in AccountScore.objects.filter(account_id__in=account_ids).order_by("pk"):
        if scrub.finds(score.breakdown):
            AccountScore.objects.filter(pk=score.pk).update(breakdown=scrub(score.breakdown))
    history = AccountStatusChange.objects.filter(account_id__in=account_ids).order_by("pk")
    changed = [
        (change_id, scrub(explanation))
        for change_id, explanation in history.values_list("id", "explanation").iterator(
            chunk_size=SCAN_CHUNK
        )
        if scrub.finds(explanation)
    ]
    for change_id, explanation in changed:
        AccountStatusChange.objects.filter(pk=change_id).update(explanation=explanation)


def _account_handoffs_scrub(scrub: _Scrubber, account_ids: list[int]) -> None:
    """An account handoff's context names the committee's contacts: not the erased ones."""
    handoffs = Handoff.objects.filter(account_id__in=account_ids).order_by("pk")
    for handoff_id, context in list(handoffs.values_list("id", "context")):
        if scrub.finds(context):
            Handoff.objects.filter(pk=handoff_id).update(context=scrub(context))
