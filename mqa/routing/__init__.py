"""Routing to sales (SPEC §6): the `mqa.routing/v1` document and pure assignment rules.

Pure: imports only `mqa.scoring` (conditions, attributes); the handoffs are stored by
`mqa.services.routing`."""

from mqa.routing.document import dump_routing, parse_routing
from mqa.routing.engine import round_robin, route_account, route_lead
from mqa.routing.types import Decision, Member, Queue, RoutingConfig, RoutingRule

__all__ = [
    "Decision",
    "Member",
    "Queue",
    "RoutingConfig",
    "RoutingRule",
    "dump_routing",
    "parse_routing",
    "round_robin",
    "route_account",
    "route_lead",
]
