"""SPEC §3 *Segments*: validation with paths, first match in document order, given keys replace
and thresholds merge, contacts take their account's segment (unlinked: none)."""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from mqa.scoring import (
    Activity,
    CommitteeMember,
    DocumentError,
    dump_document,
    parse_document,
    score_account_in_segment,
    score_contact_in_segment,
)
from mqa.scoring.diff import document_changes
from mqa.scoring.segments import engagement_rules, segment_of

T = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
BIG = {"domain": "big.com", "employee_count": 5000, "industry": "Software", "custom": {}}
MID = {"domain": "mid.com", "employee_count": 800, "industry": "Retail", "custom": {}}
SMALL = {"domain": "small.com", "employee_count": 50, "industry": "Software", "custom": {}}

BASE = {
    "format": "mqa.scoring-model/v1",
    "name": "Segmented",
    "contact": {
        "fit": {
            "cap": 60,
            "rules": [
                {"label": "VP", "attribute": "seniority", "op": "eq", "value": "vp", "points": 40},
                {
                    "label": "Software",
                    "attribute": "account.industry",
                    "op": "eq",
                    "value": "software",
                    "points": 10,
                },
            ],
        },
        "engagement": {"rules": [{"label": "Demo", "event_type": "demo_request", "points": 30}]},
        "thresholds": {"fit_floor": 30, "engagement_floor": 10, "total": 100, "engaged": 5},
    },
    "account": {
        "fit": {
            "rules": [{"attribute": "employee_count", "op": "gte", "value": 200, "points": 50}]
        },
        "role_weights": {"decision_maker": 2.0, "champion": 1.5},
        "default_role_weight": 0.5,
        "thresholds": {
            "fit_floor": 40,
            "engagement": 100,
            "min_engaged_contacts": 2,
            "required_roles": ["decision_maker"],
        },
    },
    "segments": [
        {
            "name": "Enterprise",
            "when": [
                {"attribute": "employee_count", "op": "gte", "value": 1000},
                {"attribute": "industry", "op": "eq", "value": "software"},
            ],
            "contact": {"thresholds": {"total": 60}},
            "account": {
                "role_weights": {"champion": 3.0},
                "thresholds": {"engagement": 40, "required_roles": ["champion"]},
            },
        },
        {
            "name": "Large",
            "when": [{"attribute": "employee_count", "op": "gte", "value": 500}],
            "contact": {"fit": {"rules": [{"attribute": "title", "op": "is_set", "points": 5}]}},
        },
        {
            "name": "Small software",
            "when": [{"attribute": "industry", "op": "eq", "value": "software"}],
            "contact": {
                "engagement": {
                    "rules": [{"label": "Download", "event_type": "download", "points": 70}]
                }
            },
        },
    ],
}


def model(**changes):
    document = copy.deepcopy(BASE)
    document.update(changes)
    return parse_document(document)


def contact(account, **fields):
    return {"email": "vp@x.com", "seniority": "vp", "custom": {}, "account": account, **fields}


def demo(days_ago=1):
    return Activity("demo_request", T - timedelta(days=days_ago), {})


def errors(document):
    with pytest.raises(DocumentError) as raised:
        parse_document(document)
    return raised.value.errors


# --- which segment ---------------------------------------------------------------------------


def test_the_first_segment_in_document_order_whose_conditions_all_hold_wins():
    m = model()
    assert segment_of(m, BIG).name == "Enterprise"  # Large and Small software hold too
    assert segment_of(m, MID).name == "Large"  # Enterprise needs both conditions
    assert segment_of(m, SMALL).name == "Small software"


def test_an_account_no_segment_matches_is_scored_with_the_top_level_model():
    m = model()
    retail = {"domain": "shop.com", "employee_count": 20, "industry": "Retail", "custom": {}}
    assert segment_of(m, retail) is None
    result = score_account_in_segment(m, retail, [], [], T)
    assert result.segment is None
    assert result.breakdown["segment"] is None
    assert result.fit == 0


def test_a_contact_takes_its_accounts_segment_and_an_unlinked_contact_none():
    m = model()
    linked = score_contact_in_segment(m, contact(BIG), [demo()], T)
    unlinked = score_contact_in_segment(m, contact(None), [demo()], T)
    assert (linked.segment, linked.breakdown["segment"]) == ("Enterprise", "Enterprise")
    assert (unlinked.segment, unlinked.breakdown["segment"]) == (None, None)
    # Enterprise merges total 60: fit 50 (VP 40 + Software 10) + demo 30 = 80 ≥ 60 → mql;
    # unlinked: fit 40 + 30 = 70 < the top-level total 100 → engaged.
    assert (linked.fit, linked.engagement, linked.status) == (50, 30.0, "mql")
    assert (unlinked.fit, unlinked.engagement, unlinked.status) == (40, 30.0, "engaged")


# --- effective models: given keys replace whole, thresholds merge ---------------------------------


def test_thresholds_merge_key_by_key_and_unnamed_keys_are_inherited():
    m = model()
    enterprise = m.segments[0]
    assert enterprise.contact.thresholds.total == 60
    assert enterprise.contact.thresholds.fit_floor == 30  # inherited
    assert enterprise.contact.thresholds.engagement_floor == 10
    assert enterprise.account.thresholds.engagement == 40
    assert enterprise.account.thresholds.required_roles == ("champion",)
    assert enterprise.account.thresholds.min_engaged_contacts == 2  # inherited
    assert enterprise.contact.fit_rules == m.contact.fit_rules  # not given: inherited
    assert enterprise.contact_overrides == ("thresholds.total",)
    assert enterprise.account_overrides == (
        "role_weights",
        "thresholds.engagement",
        "thresholds.required_roles",
    )


def test_a_given_rule_list_replaces_the_top_level_one_whole_with_its_own_defaults():
    m = model()
    result = score_contact_in_segment(m, contact(MID, title="VP Sales"), [demo()], T)
    # Large's fit is only "title is_set" (5): VP and Software are gone, and its cap is the
    # default 100, not the top level's 60.
    assert result.segment == "Large"
    assert result.breakdown["fit"] == [{"label": "title is_set", "attribute": "title", "points": 5}]
    assert result.fit == 5
    assert m.segments[1].contact.fit_cap == 100
    assert result.status == "engaged"  # fit 5 < fit_floor 30


def test_replaced_engagement_rules_count_only_their_own_events():
    m = model()
    events = [demo(), Activity("download", T - timedelta(days=2), {})]
    small = score_contact_in_segment(m, contact(SMALL), events, T)
    assert small.segment == "Small software"
    assert small.engagement == 70.0
    assert [r["label"] for r in small.breakdown["engagement"]] == ["Download"]
    assert small.status == "mql"  # fit 50 + 70 ≥ 100
    # Every rule some record may be scored with, once each, for loading events.
    assert [r.label for r in engagement_rules(m)] == ["Demo", "Download"]


def test_an_account_in_a_segment_is_judged_by_its_merged_thresholds_and_replaced_weights():
    m = model()
    committee = [
        CommitteeMember("a@big.com", "champion", "engaged", 10.0),
        CommitteeMember("b@big.com", "decision_maker", "engaged", 10.0),
    ]
    enterprise = score_account_in_segment(m, BIG, committee, [], T)
    # role_weights replaced whole: champion 3.0, decision_maker falls to the inherited
    # default weight 0.5 → 30 + 5 = 35 < 40.
    assert enterprise.engagement == 35.0
    assert enterprise.status == "engaged"
    assert enterprise.missing == ({"criterion": "engagement", "actual": 35.0, "required": 40},)
    large = score_account_in_segment(m, MID, committee, [], T)
    # Large gives no account keys: the top level's weights (1.5 + 2.0) and thresholds.
    assert large.segment == "Large"
    assert large.engagement == 35.0
    assert [x["criterion"] for x in large.missing] == ["engagement"]
    assert large.missing[0]["required"] == 100


# --- validation ------------------------------------------------------------------------------


def test_segment_errors_name_their_paths():
    document = copy.deepcopy(BASE)
    document["segments"][0]["when"][0]["attribute"] = "seniority"  # a contact attribute
    document["segments"][1]["contact"]["fit"]["rules"][0]["op"] = "like"
    document["segments"][2]["contact"]["thresholds"] = {"total": 0}
    document["segments"][2]["account"] = {"thresholds": {"min_engaged_contacts": 0}, "x": 1}
    assert errors(document) == [
        ("segments[0].when[0].attribute", "unknown attribute 'seniority'"),
        (
            "segments[1].contact.fit.rules[0].op",
            "unknown operator; use one of " + ", ".join(_operators()),
        ),
        ("segments[2].contact.thresholds.total", "must be greater than 0"),
        ("segments[2].account.x", "unknown key"),
        ("segments[2].account.thresholds.min_engaged_contacts", "must be at least 1"),
    ]


def _operators():
    from mqa.scoring.operators import OPERATORS

    return OPERATORS


def test_segment_names_are_unique_trimmed_and_case_insensitive():
    document = copy.deepcopy(BASE)
    document["segments"][2]["name"] = "  enterprise "
    assert errors(document) == [("segments[2].name", "repeats the name of segments[0]")]


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ({"name": "x", "when": []}, ("segments[0].when", "must hold at least one condition")),
        ({"name": "x"}, ("segments[0].when", "is required")),
        ({"when": [{"attribute": "tier", "op": "is_set"}]}, ("segments[0].name", "is required")),
        (
            {"name": " ", "when": [{"attribute": "tier", "op": "is_set"}]},
            ("segments[0].name", "must be a non-empty string"),
        ),
        (
            {"name": "x", "when": [{"attribute": "tier", "op": "is_set"}], "label": "y"},
            ("segments[0].label", "unknown key"),
        ),
        (
            {"name": "x", "when": [{"attribute": "tier", "op": "is_set", "points": 3}]},
            ("segments[0].when[0].points", "unknown key"),
        ),
        (
            {"name": "x", "when": [{"attribute": "employee_count", "op": "gte", "value": "1"}]},
            ("segments[0].when[0].value", "must be a number"),
        ),
    ],
)
def test_an_invalid_segment_is_rejected_naming_its_path(segment, expected):
    assert errors(dict(copy.deepcopy(BASE), segments=[segment])) == [expected]


def test_at_most_twenty_segments():
    when = [{"attribute": "tier", "op": "is_set"}]
    twenty = [{"name": f"s{i}", "when": when} for i in range(20)]
    assert len(model(segments=twenty).segments) == 20
    assert errors(dict(copy.deepcopy(BASE), segments=[*twenty, {"name": "s20", "when": when}])) == [
        ("segments", "must hold at most 20 segments")
    ]


def test_segments_must_be_a_list():
    assert errors(dict(copy.deepcopy(BASE), segments={})) == [("segments", "must be a list")]


def test_a_segment_need_not_repeat_the_required_total():
    m = model(segments=[{"name": "x", "when": [{"attribute": "tier", "op": "is_set"}]}])
    assert m.segments[0].contact == m.contact
    assert m.segments[0].account == m.account
    assert (m.segments[0].contact_overrides, m.segments[0].account_overrides) == ((), ())


def test_segments_round_trip_with_only_their_given_keys():
    m = model()
    dumped = dump_document(m)
    assert parse_document(dumped) == m
    assert dumped["segments"][0] == BASE["segments"][0]
    assert dumped["segments"][1]["contact"]["fit"] == {
        "cap": 100,
        "rules": [{"label": "title is_set", "attribute": "title", "op": "is_set", "points": 5}],
    }
    assert "account" not in dumped["segments"][1]


def test_the_audit_trail_names_a_segment_that_changed():
    before = dump_document(model())
    after = copy.deepcopy(before)
    after["segments"][1]["when"][0]["value"] = 600
    del after["segments"][2]
    assert document_changes(before, after) == [
        {"path": "segments[1]", "before": before["segments"][1], "after": after["segments"][1]},
        {"path": "segments[2]", "before": before["segments"][2], "after": None},
    ]
