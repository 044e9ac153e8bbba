"""Sales feedback on handoffs and their SLAs (SPEC §6).

Lifecycle: open → accepted | rejected(reason); an accepted handoff then records outcomes
forward only: sql → opportunity → won | lost. Every change is a compare-and-swap on the
current state, so a double click or a race changes things once; the loser gets
`HandoffConflict` (HTTP 409).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mqa.models import Handoff
from mqa.models.routing import RejectReason
from mqa.services.routing import handoff_as_event
from mqa.services.webhooks import webhook_events_emit

OUTCOME_RANK: dict[str | None, int] = {None: 0, "sql": 1, "opportunity": 2, "won": 3, "lost": 3}


class HandoffConflict(ValueError):
    """The handoff is not in a state that allows this change."""


def _changed(handoff_id: int, expect: Q, update: dict[str, Any]) -> Handoff:
    with transaction.atomic():
        if Handoff.objects.filter(expect, pk=handoff_id).update(**update) != 1:
            current = Handoff.objects.get(pk=handoff_id)  # DoesNotExist → 404
            raise HandoffConflict(
                f"handoff {handoff_id} is {current.status}"
                + (f" with outcome {current.outcome}" if current.outcome else "")
            )
        handoff = Handoff.objects.select_related("contact", "account").get(pk=handoff_id)
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
        breached = list(Handoff.objects.filter(id__in=due).select_related("contact", "account"))
        webhook_events_emit(
            event_type="handoff.sla_breached", payloads=[handoff_as_event(h) for h in breached]
        )
    return len(breached)
