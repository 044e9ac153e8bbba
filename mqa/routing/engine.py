"""Who gets a handoff (SPEC §6). Pure: the caller supplies queue positions and open counts.

Owner first; otherwise round-robin in a queue — the first matching rule's queue for leads
(else `default_queue`), `abm_queue` for accounts. Round-robin starts after the member
assigned last, skipping inactive members and members whose open handoffs reached capacity.
With nobody eligible the handoff is unassigned (and flagged by the caller).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mqa.routing.types import Decision, Queue, RoutingConfig
from mqa.scoring.attributes import read_contact
from mqa.scoring.operators import evaluate


def round_robin(
    queue: Queue, last_assignee: str | None, open_counts: Mapping[str, int]
) -> tuple[str | None, list[dict[str, str]]]:
    members = queue.members
    names = [m.assignee for m in members]
    start = names.index(last_assignee) + 1 if last_assignee in names else 0
    skipped = []
    for offset in range(len(members)):
        member = members[(start + offset) % len(members)]
        if not member.active:
            skipped.append({"assignee": member.assignee, "why": "inactive"})
        elif member.capacity is not None and open_counts.get(member.assignee, 0) >= member.capacity:
            skipped.append({"assignee": member.assignee, "why": "at_capacity"})
        else:
            return member.assignee, skipped
    return None, skipped


def _in_queue(
    queue_name: str | None,
    rule: int | None,
    config: RoutingConfig,
    last_by_queue: Mapping[str, str | None],
    open_counts: Mapping[str, int],
) -> Decision:
    """Round-robin in `queue_name`; `rule` is the position of the rule that chose it."""
    label = (config.rules[rule].label or None) if rule is not None else None
    queue = config.queue(queue_name)
    if queue is None:
        return Decision(assignee=None, queue=queue_name, rule=rule, rule_label=label)
    assignee, skipped = round_robin(queue, last_by_queue.get(queue.name), open_counts)
    return Decision(
        assignee=assignee, queue=queue.name, rule=rule, skipped=tuple(skipped), rule_label=label
    )


def route_lead(
    config: RoutingConfig,
    contact: Mapping[str, Any],
    owner: str | None,
    last_by_queue: Mapping[str, str | None],
    open_counts: Mapping[str, int],
) -> Decision:
    """`contact` is the contact's attribute mapping, its account under `"account"`."""
    if owner:
        return Decision(assignee=owner, owner_used=True)
    for index, rule in enumerate(config.rules):
        if all(evaluate(c.op, read_contact(contact, c.attribute), c.value) for c in rule.when):
            return _in_queue(rule.queue, index, config, last_by_queue, open_counts)
    return _in_queue(config.default_queue, None, config, last_by_queue, open_counts)


def route_account(
    config: RoutingConfig,
    owner: str | None,
    last_by_queue: Mapping[str, str | None],
    open_counts: Mapping[str, int],
) -> Decision:
    if owner:
        return Decision(assignee=owner, owner_used=True)
    return _in_queue(config.abm_queue, None, config, last_by_queue, open_counts)
