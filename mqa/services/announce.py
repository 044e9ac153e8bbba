"""The announce step: what follows a status change, in the transaction that stored it.

Subscribers are told (`contact.status_changed`, `account.status_changed` in the webhook
outbox), and, when the change is to be routed, qualified records are handed to sales
(SPEC §6: a contact entering `mql`, an account entering `mqa`). Contacts are announced before
accounts, each kind's news before its handoffs.

Step layer: takes the stores' `Transition` values; imports routing and the webhook outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from accounts.models import Account
from contacts.models import Contact
from mqa.models import RecordKind
from mqa.selectors import ActiveModel
from mqa.services.routing import handoffs_for_transitions
from mqa.services.stores import Transition
from mqa.services.webhooks import webhook_events_emit

# Per kind of record: its table, the natural key webhooks carry, the status routing hands off.
ANNOUNCED: dict[RecordKind, tuple[type[Contact] | type[Account], str, str]] = {
    RecordKind.CONTACT: (Contact, "email", "mql"),
    RecordKind.ACCOUNT: (Account, "domain", "mqa"),
}


def transitions_announce(
    *, transitions: Sequence[Transition], active: ActiveModel, route: bool, now: datetime
) -> None:
    """Tell subscribers about status changes and, with `route`, hand qualified records off."""
    for kind, (table, key, entering) in ANNOUNCED.items():
        changes = [t for t in transitions if t.kind == kind]
        if not changes:
            continue
        owner_field = f"{kind}_id"
        names = dict(
            table.objects.filter(id__in=[c.record_id for c in changes]).values_list("id", key)
        )
        webhook_events_emit(
            event_type=f"{kind}.status_changed",
            payloads=[
                {
                    owner_field: c.record_id,
                    key: names.get(c.record_id),
                    "from": c.from_status,
                    "to": c.to_status,
                    "changed_at": now.isoformat(),
                    "model_version": active.version,
                    "cause": c.cause,
                    "scores": c.scores,
                }
                for c in changes
            ],
        )
        if route:
            qualified = [c.record_id for c in changes if c.to_status == entering]
            handoffs_for_transitions(
                contacts_entering_mql=qualified if kind == RecordKind.CONTACT else [],
                accounts_entering_mqa=qualified if kind == RecordKind.ACCOUNT else [],
                model_version_id=active.id,
                model=active.model,
                now=now,
            )
