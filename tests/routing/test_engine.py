"""The pure routing rules of SPEC §6: owner first, rule queues, round-robin, unassigned."""

from __future__ import annotations

import pytest

from mqa.routing import (
    Member,
    Queue,
    RoutingConfig,
    RoutingRule,
    parse_routing,
    round_robin,
    route_account,
    route_lead,
)
from mqa.routing.document import dump_routing
from mqa.scoring import DocumentError
from mqa.scoring.types import Condition

TEAM = Queue(
    "inbound",
    (
        Member("a@v.io"),
        Member("b@v.io", active=False),
        Member("c@v.io", capacity=1),
        Member("d@v.io", capacity=2),
    ),
)


def test_round_robin_walks_members_in_order_skipping_inactive_and_full_ones():
    open_counts = {"c@v.io": 1}
    sequence, last = [], None
    for _ in range(5):
        assignee, _ = round_robin(TEAM, last, open_counts)
        sequence.append(assignee)
        open_counts[assignee] = open_counts.get(assignee, 0) + 1
        last = assignee

    # a; b inactive, c full → d; a; d (2nd); then d is full too → a
    assert sequence == ["a@v.io", "d@v.io", "a@v.io", "d@v.io", "a@v.io"]


def test_round_robin_reports_whom_it_skipped_and_why():
    assignee, skipped = round_robin(TEAM, "a@v.io", {"c@v.io": 1})

    assert assignee == "d@v.io"
    assert skipped == [
        {"assignee": "b@v.io", "why": "inactive"},
        {"assignee": "c@v.io", "why": "at_capacity"},
    ]


def test_round_robin_with_nobody_eligible_assigns_nobody():
    full = Queue("q", (Member("x@v.io", capacity=1), Member("y@v.io", active=False)))

    assignee, skipped = round_robin(full, None, {"x@v.io": 1})

    assert assignee is None
    assert [s["why"] for s in skipped] == ["at_capacity", "inactive"]


def test_a_last_assignee_who_left_the_queue_restarts_at_the_top():
    assert round_robin(TEAM, "gone@v.io", {})[0] == "a@v.io"


CONFIG = RoutingConfig(
    queues=(
        TEAM,
        Queue("emea", (Member("e@v.io"), Member("f@v.io"))),
        Queue("abm", (Member("g@v.io"),)),
    ),
    rules=(RoutingRule((Condition("country", "in", ("DE", "FR")),), "emea", "EMEA"),),
    default_queue="inbound",
    abm_queue="abm",
)


def test_a_lead_goes_to_the_account_owner_first():
    decision = route_lead(
        CONFIG, {"country": "DE", "account": {"owner": "o@v.io"}}, "o@v.io", {}, {}
    )

    assert decision.as_dict() == {
        "assignee": "o@v.io",
        "queue": None,
        "owner_used": True,
        "rule": None,
        "skipped": [],
        "unassigned": False,
    }


def test_a_lead_goes_to_the_first_matching_rules_queue_else_the_default():
    emea = route_lead(CONFIG, {"country": "de", "account": None}, None, {"emea": "e@v.io"}, {})
    other = route_lead(CONFIG, {"country": "US", "account": None}, None, {}, {})

    assert (emea.queue, emea.rule, emea.assignee) == ("emea", 0, "f@v.io")
    assert (other.queue, other.rule, other.assignee) == ("inbound", None, "a@v.io")


def test_an_account_goes_to_its_owner_else_the_abm_queue():
    assert route_account(CONFIG, "o@v.io", {}, {}).assignee == "o@v.io"
    decision = route_account(CONFIG, None, {}, {"g@v.io": 0})
    assert (decision.queue, decision.assignee, decision.owner_used) == ("abm", "g@v.io", False)


def test_without_a_queue_the_handoff_is_unassigned():
    decision = route_account(RoutingConfig(), None, {}, {})

    assert (decision.assignee, decision.unassigned, decision.queue) == (None, True, None)


DOCUMENT = {
    "format": "mqa.routing/v1",
    "queues": [
        {
            "name": "inbound",
            "members": [
                {"assignee": "a@v.io"},
                {"assignee": "b@v.io", "active": False, "capacity": 5},
            ],
        },
        {"name": "abm", "members": [{"assignee": "g@v.io"}]},
    ],
    "rules": [
        {
            "label": "Germany",
            "when": [{"attribute": "country", "op": "eq", "value": "DE"}],
            "queue": "inbound",
        }
    ],
    "default_queue": "inbound",
    "abm_queue": "abm",
    "lead_sla_hours": 4,
    "account_sla_hours": 24,
    "recycle_cooldown_days": 14,
}


def test_the_document_round_trips():
    config = parse_routing(DOCUMENT)

    assert config.queue("inbound") == Queue(
        "inbound", (Member("a@v.io"), Member("b@v.io", False, 5))
    )
    assert (config.lead_sla_hours, config.recycle_cooldown_days) == (4, 14)
    assert parse_routing(dump_routing(config)) == config


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"default_queue": "nope"}, [("default_queue", "no queue named 'nope'")]),
        (
            {
                "rules": [
                    {"when": [{"attribute": "colour", "op": "eq", "value": 1}], "queue": "abm"}
                ]
            },
            [("rules[0].when[0].attribute", "unknown attribute 'colour'")],
        ),
        (
            {"rules": [{"when": [], "queue": "sales"}]},
            [("rules[0].queue", "no queue named 'sales'")],
        ),
        (
            {
                "queues": [
                    {
                        "name": "abm",
                        "members": [{"assignee": "x", "capacity": 0}, {"assignee": "x"}],
                    }
                ]
            },
            [
                ("queues[0].members[0].capacity", "must be at least 1"),
                ("rules[0].queue", "no queue named 'inbound'"),
                ("default_queue", "no queue named 'inbound'"),
            ],
        ),
        (
            {
                "queues": [
                    {"name": "inbound", "members": [{"assignee": "x"}, {"assignee": "x"}]},
                    {"name": "inbound"},
                ]
            },
            [
                ("queues[0].members[1].assignee", "appears twice in this queue"),
                ("queues[1].name", "appears twice"),
                ("abm_queue", "no queue named 'abm'"),
            ],
        ),
        ({"lead_sla_hours": 0}, [("lead_sla_hours", "must be greater than 0")]),
        ({"extra": True}, [("extra", "unknown key")]),
    ],
)
def test_invalid_documents_name_the_path(change, errors):
    with pytest.raises(DocumentError) as raised:
        parse_routing(DOCUMENT | change)

    assert raised.value.errors == errors
