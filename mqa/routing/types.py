"""Frozen routing configuration and decisions (SPEC §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mqa.scoring.types import Condition


@dataclass(frozen=True)
class Member:
    assignee: str
    active: bool = True
    capacity: int | None = None


@dataclass(frozen=True)
class Queue:
    name: str
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class RoutingRule:
    when: tuple[Condition, ...]
    queue: str
    label: str = ""


@dataclass(frozen=True)
class RoutingConfig:
    queues: tuple[Queue, ...] = ()
    rules: tuple[RoutingRule, ...] = ()
    default_queue: str | None = None
    abm_queue: str | None = None
    lead_sla_hours: float = 24
    account_sla_hours: float = 48
    recycle_cooldown_days: float = 30

    def queue(self, name: str | None) -> Queue | None:
        return next((q for q in self.queues if q.name == name), None)


@dataclass(frozen=True)
class Decision:
    """Where a handoff goes and why (stored with the handoff).

    A rule that chose the queue is named by its 0-based position (`rule`, the key clients
    have always read) and its label (`rule_label`, given only when a rule chose: SPEC §6).
    """

    assignee: str | None
    queue: str | None = None
    owner_used: bool = False
    rule: int | None = None
    skipped: tuple[dict[str, str], ...] = field(default=())
    rule_label: str | None = None

    @property
    def unassigned(self) -> bool:
        return self.assignee is None

    def as_dict(self) -> dict[str, Any]:
        named = {"rule_label": self.rule_label} if self.rule is not None else {}
        return {
            "assignee": self.assignee,
            "queue": self.queue,
            "owner_used": self.owner_used,
            "rule": self.rule,
            **named,
            "skipped": list(self.skipped),
            "unassigned": self.unassigned,
        }
