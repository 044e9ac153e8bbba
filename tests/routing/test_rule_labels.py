"""A routing decision names the rule that chose its queue by label and 0-based position
(SPEC §6)."""

from __future__ import annotations

from mqa.routing import Member, Queue, RoutingConfig, RoutingRule, parse_routing, route_lead
from mqa.scoring.types import Condition

CONFIG = RoutingConfig(
    queues=(Queue("inbound", (Member("a@v.io"),)), Queue("emea", (Member("e@v.io"),))),
    rules=(
        RoutingRule((Condition("country", "eq", "US"),), "inbound", "Americas"),
        RoutingRule((Condition("country", "in", ("DE", "FR")),), "emea", "EMEA"),
    ),
    default_queue="inbound",
)


def test_a_decision_by_rule_carries_its_label_beside_its_position():
    decision = route_lead(CONFIG, {"country": "FR", "account": None}, None, {}, {})

    assert (decision.rule, decision.rule_label) == (1, "EMEA")
    assert decision.as_dict() == {
        "assignee": "e@v.io",
        "queue": "emea",
        "owner_used": False,
        "rule": 1,
        "rule_label": "EMEA",
        "skipped": [],
        "unassigned": False,
    }


def test_a_decision_without_a_rule_names_none():
    by_default = route_lead(CONFIG, {"country": "JP", "account": None}, None, {}, {})
    by_owner = route_lead(CONFIG, {"country": "FR", "account": None}, "o@v.io", {}, {})

    for decision in (by_default, by_owner):
        assert (decision.rule, decision.rule_label) == (None, None)
        assert "rule_label" not in decision.as_dict()


def test_an_unlabelled_rule_is_named_by_the_label_the_document_gives_it():
    config = parse_routing(
        {
            "format": "mqa.routing/v1",
            "queues": [{"name": "inbound", "members": [{"assignee": "a@v.io"}]}],
            "rules": [
                {"when": [{"attribute": "country", "op": "eq", "value": "DE"}], "queue": "inbound"}
            ],
        }
    )

    decision = route_lead(config, {"country": "DE", "account": None}, None, {}, {})

    assert (decision.rule, decision.rule_label) == (0, "rule rules[0]")
