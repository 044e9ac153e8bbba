"""The `mqa.routing/v1` document: validation into a `RoutingConfig` and back (SPEC §6).

Errors name their path (`rules[0].when[1].op`), like the scoring-model document's.
"""

from __future__ import annotations

from typing import Any

from mqa.routing.types import Member, Queue, RoutingConfig, RoutingRule
from mqa.scoring.attributes import is_contact_attribute
from mqa.scoring.reader import (
    DocumentError,
    Invalid,
    Reader,
    attribute_condition,
    dump_condition,
    guard,
)

FORMAT = "mqa.routing/v1"
KEYS = {
    "format",
    "queues",
    "rules",
    "default_queue",
    "abm_queue",
    "lead_sla_hours",
    "account_sla_hours",
    "recycle_cooldown_days",
}


def _member(r: Reader, item: Any, path: str) -> Member:
    r.obj(item, path, {"assignee", "active", "capacity"}, {"assignee"})
    active = item.get("active", True)
    if not isinstance(active, bool):
        raise r.fail(f"{path}.active", "must be true or false")
    capacity = item.get("capacity")
    if capacity is not None:
        capacity = r.integer(capacity, f"{path}.capacity", 1)
    return Member(r.string(item.get("assignee"), f"{path}.assignee"), active, capacity)


def _queue(r: Reader, item: Any, path: str) -> Queue:
    r.obj(item, path, {"name", "members"}, {"name"})
    name = r.string(item.get("name"), f"{path}.name")
    members = r.each(
        r.items(item.get("members", []), f"{path}.members"),
        f"{path}.members",
        lambda v, p: _member(r, v, p),
    )
    seen: set[str] = set()
    for index, member in enumerate(members):
        if member.assignee in seen:
            r.fail(f"{path}.members[{index}].assignee", "appears twice in this queue")
        seen.add(member.assignee)
    return Queue(name, members)


def _rule(r: Reader, item: Any, path: str, queues: set[str]) -> RoutingRule:
    r.obj(item, path, {"label", "when", "queue"}, {"when", "queue"})
    when = r.each(
        r.items(item.get("when"), f"{path}.when"),
        f"{path}.when",
        lambda v, p: attribute_condition(
            r,
            r.obj(v, p, {"attribute", "op", "value"}, {"attribute", "op"}),
            p,
            is_contact_attribute,
        ),
    )
    queue = r.string(item.get("queue"), f"{path}.queue")
    if queue not in queues:
        raise r.fail(f"{path}.queue", f"no queue named {queue!r}")
    label = item.get("label") or f"rule {path}"
    return RoutingRule(when, queue, r.string(label, f"{path}.label"))


def parse_routing(document: Any) -> RoutingConfig:
    r = Reader()
    config = RoutingConfig()
    try:
        r.obj(document, "", KEYS, {"format"})
        if document.get("format") != FORMAT:
            r.fail("format", f"must be {FORMAT!r}")
        queues = r.each(
            r.items(document.get("queues", []), "queues"), "queues", lambda v, p: _queue(r, v, p)
        )
        names = [q.name for q in queues]
        for index, name in enumerate(names):
            if name in names[:index]:
                r.fail(f"queues[{index}].name", "appears twice")
        rules = r.each(
            r.items(document.get("rules", []), "rules"),
            "rules",
            lambda v, p: _rule(r, v, p, set(names)),
        )

        def queue_name(key: str) -> str | None:
            value = document.get(key)
            if value is None:
                return None
            name = r.string(value, key)
            if name not in names:
                raise r.fail(key, f"no queue named {name!r}")
            return name

        def hours_or_days(key: str, default: float, *, zero_ok: bool) -> float:
            value = r.number(document.get(key, default), key, 0)
            if zero_ok or value > 0:
                return value
            raise r.fail(key, "must be greater than 0")

        config = RoutingConfig(
            queues=queues,
            rules=rules,
            default_queue=guard(r, lambda: queue_name("default_queue"), None),
            abm_queue=guard(r, lambda: queue_name("abm_queue"), None),
            lead_sla_hours=guard(r, lambda: hours_or_days("lead_sla_hours", 24, zero_ok=False), 24),
            account_sla_hours=guard(
                r, lambda: hours_or_days("account_sla_hours", 48, zero_ok=False), 48
            ),
            recycle_cooldown_days=guard(
                r, lambda: hours_or_days("recycle_cooldown_days", 30, zero_ok=True), 30
            ),
        )
    except Invalid:  # an unusable top level; the reader has recorded why
        pass
    if r.errors:
        raise DocumentError(r.errors)
    return config


def dump_routing(config: RoutingConfig) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "queues": [
            {
                "name": q.name,
                "members": [
                    {"assignee": m.assignee, "active": m.active, "capacity": m.capacity}
                    for m in q.members
                ],
            }
            for q in config.queues
        ],
        "rules": [
            {
                "label": rule.label,
                "when": [dump_condition(c) for c in rule.when],
                "queue": rule.queue,
            }
            for rule in config.rules
        ],
        "default_queue": config.default_queue,
        "abm_queue": config.abm_queue,
        "lead_sla_hours": config.lead_sla_hours,
        "account_sla_hours": config.account_sla_hours,
        "recycle_cooldown_days": config.recycle_cooldown_days,
    }
