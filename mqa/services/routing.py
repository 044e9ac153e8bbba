"""Handoffs created by status transitions (SPEC §6), and the routing document.

Called by the announce step (`mqa.services.announce`) in the transaction that stored the
status changes: a contact entering
`mql` outside target accounts gets a lead handoff; a target account entering `mqa` gets an
account handoff. One open handoff per record; after a rejection a new one needs a fresh
entry, and not before the cooldown. Queue positions are locked in name order, so concurrent
workers hand out round-robin turns one at a time.

Step layer, below announce and feedback: imports the pure routing rules, the webhook outbox
and the facts loader.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count

from accounts.models import Account
from contacts.models import Contact
from mqa.models import Handoff, RoutingQueueState, RoutingSettings
from mqa.routing import (
    Decision,
    RoutingConfig,
    dump_routing,
    parse_routing,
    route_account,
    route_lead,
)
from mqa.scoring.types import ScoringModel
from mqa.services.facts import contact_facts
from mqa.services.handoff_context import account_context, lead_context
from mqa.services.webhooks import webhook_events_emit


def routing_config_get() -> RoutingConfig:
    settings_row = RoutingSettings.objects.first()
    return parse_routing(settings_row.document) if settings_row else RoutingConfig()


def routing_document_get() -> dict[str, Any]:
    return dump_routing(routing_config_get())


def routing_document_put(*, document: Any) -> dict[str, Any]:
    """Validate and store the routing document (raises DocumentError naming paths)."""
    canonical = dump_routing(parse_routing(document))
    with transaction.atomic():
        row = RoutingSettings.objects.select_for_update().first()
        if row is None:
            RoutingSettings.objects.create(document=canonical)
        else:
            row.document = canonical
            row.save(update_fields=["document", "updated_at"])
    return canonical


def _account_domain(handoff: Handoff) -> str | None:
    """An account handoff's account, or a lead handoff's contact's linked account (now)."""
    if handoff.account_id and handoff.account:
        return handoff.account.domain
    if handoff.contact_id and handoff.contact and handoff.contact.account:
        return handoff.contact.account.domain
    return None


def handoff_fields(handoff: Handoff) -> dict[str, Any]:
    """What a handoff says in the API and in webhooks alike (JSON-ready, no timestamps);
    load it with `mqa.selectors.HANDOFF_RELATED`."""
    return {
        "kind": handoff.kind,
        "status": handoff.status,
        "outcome": handoff.outcome,
        "contact_email": handoff.contact.email if handoff.contact_id and handoff.contact else None,
        "account_domain": _account_domain(handoff),
        "assignee": handoff.assignee,
        "queue": handoff.queue,
        "unassigned": handoff.unassigned,
        "reason": handoff.reason,
        "decision": handoff.decision,
        "context": handoff.context,
    }


def handoff_as_event(handoff: Handoff) -> dict[str, Any]:
    return {
        "handoff_id": handoff.id,
        **handoff_fields(handoff),
        "due_at": handoff.due_at.isoformat() if handoff.due_at else None,
    }


class _Router:
    """Round-robin state for one batch: queue positions (locked) and open counts."""

    def __init__(self, config: RoutingConfig, model_version_id: int, now: datetime) -> None:
        self.config, self.model_version_id, self.now = config, model_version_id, now
        self.created: list[Handoff] = []
        names = sorted(q.name for q in config.queues)
        RoutingQueueState.objects.bulk_create(
            [RoutingQueueState(queue=name) for name in names], ignore_conflicts=True
        )
        self.states = {
            s.queue: s
            for s in RoutingQueueState.objects.select_for_update()
            .filter(queue__in=names)
            .order_by("queue")
        }
        # Open handoffs matter only against a capacity: count those of capped members alone
        # (a count of every open handoff, per routed batch, was a drain's cost at scale).
        capped = sorted(
            {m.assignee for q in config.queues for m in q.members if m.capacity is not None}
        )
        self.open_counts: Counter[str] = Counter(
            dict(
                Handoff.objects.filter(status=Handoff.Status.OPEN, assignee__in=capped)
                .values_list("assignee")
                .annotate(n=Count("id"))
            )
            if capped
            else {}
        )

    @property
    def last_by_queue(self) -> dict[str, str | None]:
        return {name: state.last_assignee for name, state in self.states.items()}

    def hand_off(self, decision: Decision, **fields: Any) -> None:
        """Create the handoff as decided, unless the one-open-handoff constraint refuses it."""
        handoff = Handoff(
            created_at=self.now,
            model_version_id=self.model_version_id,
            assignee=decision.assignee,
            queue=decision.queue,
            unassigned=decision.unassigned,
            decision=decision.as_dict(),
            **fields,
        )
        try:
            with transaction.atomic():  # a savepoint: the one-open-handoff constraint may refuse
                handoff.save()
        except IntegrityError:
            return
        self.created.append(handoff)
        self._took(decision)

    def _took(self, decision: Decision) -> None:
        if decision.assignee:
            self.open_counts[decision.assignee] += 1
        if decision.queue in self.states and decision.assignee and not decision.owner_used:
            state = self.states[decision.queue]
            state.last_assignee = decision.assignee
            state.save(update_fields=["last_assignee"])


def _may_hand_off(previous: Handoff | None, config: RoutingConfig, now: datetime) -> bool:
    """No open handoff; after a rejection, not before the cooldown (this entry is a new one)."""
    if previous is None:
        return True
    if previous.status == Handoff.Status.OPEN:
        return False
    if previous.status == Handoff.Status.REJECTED and previous.rejected_at is not None:
        return now >= previous.rejected_at + timedelta(days=config.recycle_cooldown_days)
    return True


def _latest(field: str, ids: Iterable[int]) -> dict[int, Handoff]:
    latest: dict[int, Handoff] = {}
    for handoff in Handoff.objects.filter(**{f"{field}__in": list(ids)}).order_by("id"):
        latest[getattr(handoff, field)] = handoff
    return latest


def handoffs_for_transitions(
    *,
    contacts_entering_mql: Iterable[int],
    accounts_entering_mqa: Iterable[int],
    model_version_id: int,
    model: ScoringModel,
    now: datetime,
) -> list[Handoff]:
    """Create the handoffs these transitions call for, each with why now (its context, under
    `model`); returns them."""
    contact_ids, account_ids = (
        sorted(set(contacts_entering_mql)),
        sorted(set(accounts_entering_mqa)),
    )
    if not contact_ids and not account_ids:
        return []
    config = routing_config_get()
    router = _Router(config, model_version_id, now)
    latest = _latest("contact_id", contact_ids)
    for contact in (
        Contact.objects.filter(id__in=contact_ids).select_related("account", "score").order_by("id")
    ):
        if contact.account is not None and contact.account.is_target:
            continue  # target accounts are worked as accounts (ABM), not as leads
        if not _may_hand_off(latest.get(contact.id), config, now):
            continue
        owner = contact.account.owner if contact.account else None
        decision = route_lead(
            config, contact_facts(contact), owner, router.last_by_queue, router.open_counts
        )
        router.hand_off(
            decision,
            kind=Handoff.Kind.LEAD,
            contact=contact,
            due_at=now + timedelta(hours=config.lead_sla_hours),
            context=lead_context(contact=contact, model=model, now=now),
        )
    latest = _latest("account_id", account_ids)
    targets = Account.objects.filter(id__in=account_ids, is_target=True).select_related("score")
    for account in targets.order_by("id"):
        if not _may_hand_off(latest.get(account.id), config, now):
            continue
        decision = route_account(config, account.owner, router.last_by_queue, router.open_counts)
        router.hand_off(
            decision,
            kind=Handoff.Kind.ACCOUNT,
            account=account,
            due_at=now + timedelta(hours=config.account_sla_hours),
            context=account_context(account=account, model=model, now=now),
        )
    webhook_events_emit(
        event_type="handoff.created", payloads=[handoff_as_event(h) for h in router.created]
    )
    return router.created
