"""Sales feedback on handoffs and their SLAs (SPEC §6).

Lifecycle: open → accepted | rejected(reason); an accepted handoff then records outcomes
forward only: sql → opportunity → won | lost. While open, a handoff may be (re)assigned by
hand. Every change is a compare-and-swap on the current state, so a double click or a race
changes things once; the loser gets `HandoffConflict` (HTTP 409).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from contacts.models import Contact
from contacts.schemas import email_or_invalid
from mqa.batch import BatchError, Invalid, ItemError, validate_batch
from mqa.ingest import UpsertResult
from mqa.models import Handoff
from mqa.models.routing import RejectReason
from mqa.schemas import AwareDatetime, domain_or_invalid
from mqa.selectors import HANDOFF_RELATED
from mqa.services.routing import handoff_as_event
from mqa.services.webhooks import webhook_events_emit

OUTCOME_RANK: dict[str | None, int] = {None: 0, "sql": 1, "opportunity": 2, "won": 3, "lost": 3}
NEW_ORDER = 2**62  # above any stored id: where unsaved handoffs sort among stored ones


@dataclass(frozen=True)
class OutcomesImportResult(UpsertResult):
    """What an outcome import did; `unchanged` counts outcomes already recorded (a re-import)."""

    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return super().as_dict() | {"unchanged": self.unchanged}


class HandoffConflict(ValueError):
    """The handoff is not in a state that allows this change."""


ASSIGNEE_MAX_LENGTH: int = Handoff._meta.get_field("assignee").max_length or 255


def _changed(handoff_id: int, expect: Q, update: dict[str, Any]) -> Handoff:
    # `update()` skips `auto_now`: the change feed's readers see when it happened.
    update = {"updated_at": timezone.now(), **update}
    with transaction.atomic():
        if Handoff.objects.filter(expect, pk=handoff_id).update(**update) != 1:
            current = Handoff.objects.get(pk=handoff_id)  # DoesNotExist → 404
            raise HandoffConflict(
                f"handoff {handoff_id} is {current.status}"
                + (f" with outcome {current.outcome}" if current.outcome else "")
            )
        handoff = Handoff.objects.select_related(*HANDOFF_RELATED).get(pk=handoff_id)
        webhook_events_emit(event_type="handoff.updated", payloads=[handoff_as_event(handoff)])
    return handoff


def handoff_accept(*, handoff_id: int, now: datetime | None = None) -> Handoff:
    return _changed(
        handoff_id,
        Q(status=Handoff.Status.OPEN),
        {"status": Handoff.Status.ACCEPTED, "accepted_at": now or timezone.now()},
    )


def handoff_reject(
    *, handoff_id: int, reason: str, note: str = "", now: datetime | None = None
) -> Handoff:
    if reason not in RejectReason.values:
        raise ValueError(f"reason must be one of {', '.join(RejectReason.values)}")
    return _changed(
        handoff_id,
        Q(status=Handoff.Status.OPEN),
        {
            "status": Handoff.Status.REJECTED,
            "reason": reason,
            "note": note,
            "rejected_at": now or timezone.now(),
        },
    )


def handoff_assign(*, handoff_id: int, assignee: str) -> Handoff:
    """Give an open handoff to `assignee` (by hand: over the API or the review pages),
    whether it was unassigned or someone else's; it is no longer flagged unassigned.

    `assignee` is trimmed and must be non-empty and fit the column; raises `ValueError`
    otherwise, `Handoff.DoesNotExist` for an unknown id, `HandoffConflict` unless open.
    """
    assignee = assignee.strip()
    if not assignee or len(assignee) > ASSIGNEE_MAX_LENGTH:
        raise ValueError(f"assignee must be 1 to {ASSIGNEE_MAX_LENGTH} characters")
    return _changed(
        handoff_id,
        Q(status=Handoff.Status.OPEN),
        {"assignee": assignee, "unassigned": False},
    )


def handoff_outcome_record(
    *, handoff_id: int, outcome: str, now: datetime | None = None
) -> Handoff:
    if outcome not in Handoff.Outcome.values:
        raise ValueError(f"outcome must be one of {', '.join(Handoff.Outcome.values)}")
    earlier = [o for o, rank in OUTCOME_RANK.items() if o and rank < OUTCOME_RANK[outcome]]
    return _changed(
        handoff_id,
        Q(status=Handoff.Status.ACCEPTED) & (Q(outcome__isnull=True) | Q(outcome__in=earlier)),
        {"outcome": outcome, "outcome_at": now or timezone.now()},
    )


def handoff_slas_watch(*, now: datetime | None = None) -> int:
    """The SLA watch (every `MQA_SLA_CHECK_SECONDS`): warn about handoffs due soon, then flag
    those past due; returns how many were flagged."""
    now = now or timezone.now()
    handoffs_warn_due_soon(now=now)
    return handoffs_mark_breached(now=now)


def handoffs_warn_due_soon(*, now: datetime | None = None) -> int:
    """Announce open handoffs due within `MQA_SLA_WARN_MINUTES`, each once
    (`handoff.sla_due_soon`: alerts to the assignee or the queue)."""
    now = now or timezone.now()
    soon = now + timedelta(minutes=settings.MQA_SLA_WARN_MINUTES)
    with transaction.atomic():
        due = list(
            Handoff.objects.select_for_update(skip_locked=True)
            .filter(
                status=Handoff.Status.OPEN,
                due_at__gte=now,
                due_at__lte=soon,
                sla_warned_at__isnull=True,
            )
            .order_by("id")
            .values_list("id", flat=True)
        )
        Handoff.objects.filter(id__in=due, sla_warned_at__isnull=True).update(sla_warned_at=now)
        warned = list(Handoff.objects.filter(id__in=due).select_related(*HANDOFF_RELATED))
        webhook_events_emit(
            event_type="handoff.sla_due_soon", payloads=[handoff_as_event(h) for h in warned]
        )
    return len(warned)


def handoffs_mark_breached(*, now: datetime | None = None) -> int:
    """Flag open handoffs past their due time; each is reported once (SPEC §6 SLA)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Handoff.objects.select_for_update(skip_locked=True)
            .filter(status=Handoff.Status.OPEN, due_at__lt=now, sla_breached_at__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        Handoff.objects.filter(id__in=due, sla_breached_at__isnull=True).update(sla_breached_at=now)
        breached = list(Handoff.objects.filter(id__in=due).select_related(*HANDOFF_RELATED))
        webhook_events_emit(
            event_type="handoff.sla_breached", payloads=[handoff_as_event(h) for h in breached]
        )
    return len(breached)


class ImportedOutcomeIn(msgspec.Struct, forbid_unknown_fields=True):
    """A historical outcome (import_csv): of a contact (`email`) or an account (`domain`)."""

    outcome: Literal["sql", "opportunity", "won", "lost"]
    at: AwareDatetime
    email: str | None = None
    domain: str | None = None
    created_at: AwareDatetime | None = None
    accepted_at: AwareDatetime | None = None


def clean_outcome(item: ImportedOutcomeIn) -> ImportedOutcomeIn:
    if (item.email is None) == (item.domain is None):
        raise Invalid("email", "give exactly one of email (a lead) or domain (an account)")
    if item.email is not None:
        item.email = email_or_invalid(item.email)
    if item.domain is not None:
        item.domain = domain_or_invalid("domain", item.domain)
    if item.created_at is not None and item.created_at > item.at:
        raise Invalid("created_at", "is after the outcome's time")
    return item


def handoff_outcomes_import(*, items: Iterable[Any]) -> OutcomesImportResult:
    """Record historical outcomes, for funnel reports and calibration.

    An outcome moves the record's latest handoff created by then, not rejected and without a
    later outcome, forward (accepting it if it was open); without one, it creates an accepted
    handoff (created at `created_at`, else at the outcome). Nothing is routed or announced: this
    is history. A record that does not exist is an error of its item; nothing is stored then.
    An outcome already recorded — a handoff of the record created by then reached it (or a
    later one) at that time or after — changes nothing, so importing a file again is harmless.
    """
    valid = validate_batch(items, ImportedOutcomeIn, clean_outcome)
    created = updated = unchanged = 0
    with transaction.atomic():
        contacts = dict(
            Contact.objects.filter(email__in={i.email for i in valid if i.email}).values_list(
                "email", "id"
            )
        )
        accounts = dict(
            Account.objects.filter(domain__in={i.domain for i in valid if i.domain}).values_list(
                "domain", "id"
            )
        )
        errors = [
            ItemError(index, "email" if item.email else "domain", "no such record")
            for index, item in enumerate(valid)
            if (contacts.get(item.email) if item.email else accounts.get(item.domain or "")) is None
        ]
        if errors:
            raise BatchError(errors)
        # Every handoff an outcome may move, loaded and locked once; new ones join the lists.
        held: dict[tuple[str, int], list[tuple[datetime, int, Handoff]]] = defaultdict(list)
        for h in (
            Handoff.objects.select_for_update()
            .filter(Q(contact_id__in=contacts.values()) | Q(account_id__in=accounts.values()))
            .exclude(status=Handoff.Status.REJECTED)
            .order_by("id")
        ):
            key = (
                ("contact_id", h.contact_id) if h.contact_id else ("account_id", h.account_id or 0)
            )
            held[key].append((h.created_at, h.id, h))
        moved: dict[int, Handoff] = {}
        new: list[Handoff] = []
        for item in valid:
            owner = (
                ("contact_id", contacts[item.email])
                if item.email
                else ("account_id", accounts[item.domain or ""])
            )
            rank = OUTCOME_RANK[item.outcome]
            if any(
                entry[0] <= item.at and _has_recorded(entry[2], item.outcome, item.at)
                for entry in held[owner]
            ):
                unchanged += 1
                continue
            # The latest handoff created by then, without this outcome or a later one.
            current = max(
                (
                    entry
                    for entry in held[owner]
                    if entry[0] <= item.at and OUTCOME_RANK[entry[2].outcome] < rank
                ),
                key=lambda entry: entry[:2],
                default=None,
            )
            if current is not None:
                handoff = current[2]
                handoff.status = Handoff.Status.ACCEPTED
                handoff.accepted_at = handoff.accepted_at or item.accepted_at
                handoff.outcome, handoff.outcome_at = item.outcome, item.at
                if handoff.pk:
                    moved[handoff.pk] = handoff
                updated += 1
                continue
            handoff = Handoff(
                kind=Handoff.Kind.LEAD if item.email else Handoff.Kind.ACCOUNT,
                **{owner[0]: owner[1]},
                status=Handoff.Status.ACCEPTED,
                created_at=item.created_at or item.at,
                accepted_at=item.accepted_at,
                outcome=item.outcome,
                outcome_at=item.at,
                decision={"imported": True},
            )
            # Unsaved handoffs rank after every stored one of the same instant, in item order.
            held[owner].append((handoff.created_at, NEW_ORDER + len(new), handoff))
            new.append(handoff)
            created += 1
        now = timezone.now()
        for handoff in moved.values():
            handoff.updated_at = now
        Handoff.objects.bulk_update(
            list(moved.values()), ["status", "accepted_at", "outcome", "outcome_at", "updated_at"]
        )
        Handoff.objects.bulk_create(new)
    return OutcomesImportResult(created=created, updated=updated, unchanged=unchanged)


def _has_recorded(handoff: Handoff, outcome: str, at: datetime) -> bool:
    """Whether `handoff` already went through `outcome` at `at`: it states that outcome, or a
    later one (`won` and `lost` are alternatives, neither later), recorded then or after."""
    if handoff.outcome_at is None or handoff.outcome_at < at:
        return False
    return handoff.outcome == outcome or OUTCOME_RANK[handoff.outcome] > OUTCOME_RANK[outcome]
