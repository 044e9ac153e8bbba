"""SPEC §4 "Account": the committee rollup, signal score, account status and `missing`."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mqa.scoring import AccountModel, Activity, CommitteeMember, score_account
from mqa.scoring.types import (
    AccountThresholds,
    ActivityRule,
    Condition,
    Disqualifier,
    FitRule,
)

T = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

ACCOUNT = {"domain": "acme.com", "employee_count": 500, "industry": "Software", "custom": {}}
SIZE_RULE = FitRule("ICP size", Condition("employee_count", "gte", 200), 50)


def member(email, status="engaged", engagement=10.0, role=None):
    return CommitteeMember(email=email, buying_role=role, status=status, engagement=engagement)


def signal(at=T, signal_type="intent_surge", **properties):
    return Activity(signal_type, at, properties)


def signal_rule(points=20, signal_type="intent_surge", **options):
    return ActivityRule(signal_type, signal_type, points, **options)


def account_model(
    *,
    fit_rules=(),
    signal_rules=(),
    disqualifiers=(),
    role_weights=None,
    default_role_weight=1.0,
    fit_cap=100,
    **thresholds,
):
    return AccountModel(
        thresholds=AccountThresholds(**thresholds),
        fit_cap=fit_cap,
        fit_rules=tuple(fit_rules),
        signal_rules=tuple(signal_rules),
        disqualifiers=tuple(disqualifiers),
        role_weights=role_weights or {},
        default_role_weight=default_role_weight,
    )


def score(model, contacts=(), signals=(), account=ACCOUNT):
    return score_account(model, account, list(contacts), list(signals), T)


# --- eligibility, counts, roles ----------------------------------------------------------


def test_disqualified_contacts_are_not_eligible():
    # given a disqualified contact with a role and a high engagement
    contacts = [
        member("a@acme.com", "engaged", 10.0, "champion"),
        member("b@acme.com", "disqualified", 90.0, "decision_maker"),
    ]
    # when the account is scored
    result = score(account_model(), contacts)
    # then it adds nothing: no engagement, no count, no role
    assert result.engagement == 10.0
    assert result.engaged_contacts == 1
    assert result.roles_covered == ("champion",)
    assert [c["email"] for c in result.breakdown["contacts"]] == ["a@acme.com"]


def test_engaged_counts_engaged_and_mql_contacts_and_mql_counts_only_mql():
    contacts = [
        member("a@acme.com", "mql"),
        member("b@acme.com", "mql"),
        member("c@acme.com", "engaged"),
        member("d@acme.com", "none"),
        member("e@acme.com", "disqualified"),
    ]
    result = score(account_model(), contacts)
    assert (result.engaged_contacts, result.mql_contacts) == (3, 2)


def test_roles_covered_are_the_distinct_non_null_roles_of_engaged_contacts():
    contacts = [
        member("a@acme.com", "mql", role="decision_maker"),
        member("b@acme.com", "engaged", role="champion"),
        member("c@acme.com", "engaged", role="champion"),
        member("d@acme.com", "engaged", role=None),
        member("e@acme.com", "none", 5.0, role="economic_buyer"),
        member("f@acme.com", "disqualified", role="procurement"),
    ]
    result = score(account_model(), contacts)
    assert result.roles_covered == ("champion", "decision_maker")


def test_an_account_without_contacts_covers_no_roles():
    result = score(account_model())
    assert (result.engaged_contacts, result.mql_contacts, result.roles_covered) == (0, 0, ())


# --- engagement -------------------------------------------------------------------------


def test_engagement_weights_each_contact_by_its_role():
    weights = {"decision_maker": 2.0, "champion": 1.5, "user": 0.5}
    contacts = [
        member("a@acme.com", "mql", 10.0, "decision_maker"),
        member("b@acme.com", "engaged", 10.0, "champion"),
        member("c@acme.com", "engaged", 10.0, "user"),
    ]
    assert score(account_model(role_weights=weights), contacts).engagement == 40.0


def test_contacts_without_a_weighted_role_use_the_default_role_weight():
    weights = {"decision_maker": 2.0}
    contacts = [
        member("a@acme.com", "engaged", 10.0, "decision_maker"),
        member("b@acme.com", "engaged", 10.0, "influencer"),
        member("c@acme.com", "engaged", 10.0, None),
    ]
    model = account_model(role_weights=weights, default_role_weight=0.25)
    assert score(model, contacts).engagement == 25.0
    assert score(replace(model, default_role_weight=1.0), contacts).engagement == 40.0


def test_engagement_sums_all_eligible_contacts_engaged_or_not():
    contacts = [
        member("a@acme.com", "engaged", 12.5),
        member("b@acme.com", "none", 4.25),
        member("c@acme.com", "mql", 30.0),
    ]
    assert score(account_model(), contacts).engagement == 46.75


def test_engagement_adds_the_signal_score():
    contacts = [member("a@acme.com", "engaged", 10.0, "champion")]
    model = account_model(role_weights={"champion": 1.5}, signal_rules=[signal_rule(20)])
    result = score(model, contacts, [signal()])
    assert (result.signal_score, result.engagement) == (20.0, 35.0)


def test_account_engagement_is_rounded_half_away_from_zero():
    contacts = [member("a@acme.com", "engaged", 0.25)]
    assert score(account_model(default_role_weight=0.5), contacts).engagement == 0.13


def test_the_contact_explanation_lists_each_eligible_contact():
    contacts = [
        member("b@acme.com", "none", 3.0, None),
        member("a@acme.com", "mql", 10.0, "decision_maker"),
    ]
    result = score(account_model(role_weights={"decision_maker": 2.0}), contacts)
    assert result.breakdown["contacts"] == [
        {
            "email": "a@acme.com",
            "buying_role": "decision_maker",
            "status": "mql",
            "engagement": 10.0,
            "weight": 2.0,
            "points": 20.0,
        },
        {
            "email": "b@acme.com",
            "buying_role": None,
            "status": "none",
            "engagement": 3.0,
            "weight": 1.0,
            "points": 3.0,
        },
    ]


# --- signal score -----------------------------------------------------------------------


def test_the_signal_score_has_no_cap():
    model = account_model(signal_rules=[signal_rule(400)])
    result = score(model, signals=[signal(T - n * DAY) for n in range(3)])
    assert (result.signal_score, result.engagement) == (1200.0, 1200.0)


def test_the_signal_score_is_never_negative():
    model = account_model(signal_rules=[signal_rule(20), signal_rule(-30, "churn_risk")])
    result = score(
        model, [member("a@acme.com", "engaged", 10.0)], [signal(), signal(T, "churn_risk")]
    )
    assert (result.signal_score, result.engagement) == (0.0, 10.0)


def test_the_signal_score_uses_the_engagement_formula():
    rules = [signal_rule(20, max_count=1, window_days=30, half_life_days=10)]
    signals = [signal(T - 10 * DAY), signal(T - 20 * DAY), signal(T - 31 * DAY)]
    result = score(account_model(signal_rules=rules), signals=signals)
    assert result.signal_score == 10.0
    assert result.breakdown["signals"] == [
        {"label": "intent_surge", "type": "intent_surge", "count": 1, "points": 10.0}
    ]


def test_signal_where_conditions_read_signal_properties():
    rules = [signal_rule(20, where=(Condition("topic", "eq", "crm"),))]
    signals = [signal(topic="CRM"), signal(topic="erp"), signal()]
    assert score(account_model(signal_rules=rules), signals=signals).signal_score == 20.0


# --- fit ----------------------------------------------------------------------------------


def test_account_fit_is_capped_and_clamped():
    big = [SIZE_RULE, FitRule("Software", Condition("industry", "eq", "software"), 70)]
    assert score(account_model(fit_rules=big)).fit == 100
    assert score(account_model(fit_rules=big, fit_cap=60)).fit == 60
    negative = [FitRule("Software", Condition("industry", "eq", "software"), -70), SIZE_RULE]
    assert score(account_model(fit_rules=negative)).fit == 0


def test_account_fit_reads_account_custom_keys():
    rules = [FitRule("Partner", Condition("custom.partner.tier", "eq", "gold"), 30)]
    account = {**ACCOUNT, "custom": {"partner.tier": "Gold"}}
    assert score(account_model(fit_rules=rules), account=account).fit == 30
    assert score(account_model(fit_rules=rules)).fit == 0


# --- status -------------------------------------------------------------------------------

# fit 50; engaged 2 (one mql); roles champion + decision_maker; engagement 80 + 30 + 5 + 20
COMMITTEE = [
    member("a@acme.com", "mql", 40.0, "decision_maker"),
    member("b@acme.com", "engaged", 20.0, "champion"),
    member("c@acme.com", "none", 5.0, None),
]
MET = {
    "fit_floor": 50,
    "engagement": 135,
    "min_engaged_contacts": 2,
    "min_roles": 2,
    "required_roles": ("decision_maker", "champion"),
    "min_mql_contacts": 1,
}


def committee_model(disqualifiers=(), **thresholds):
    return account_model(
        fit_rules=[SIZE_RULE],
        signal_rules=[signal_rule(20)],
        disqualifiers=disqualifiers,
        role_weights={"decision_maker": 2.0, "champion": 1.5},
        **{**MET, **thresholds},
    )


def test_an_account_meeting_every_criterion_exactly_is_mqa():
    result = score(committee_model(), COMMITTEE, [signal()])
    assert (result.fit, result.engagement, result.signal_score) == (50, 135.0, 20.0)
    assert (result.engaged_contacts, result.mql_contacts) == (2, 1)
    assert result.roles_covered == ("champion", "decision_maker")
    assert result.status == "mqa"
    assert result.missing == ()
    assert result.breakdown["missing"] == []


@pytest.mark.parametrize(
    ("threshold", "missing"),
    [
        ({"fit_floor": 51}, {"criterion": "fit_floor", "actual": 50, "required": 51}),
        (
            {"min_engaged_contacts": 3},
            {"criterion": "min_engaged_contacts", "actual": 2, "required": 3},
        ),
        ({"min_roles": 3}, {"criterion": "min_roles", "actual": 2, "required": 3}),
        (
            {"required_roles": ("decision_maker", "economic_buyer")},
            {
                "criterion": "required_roles",
                "actual": ["champion", "decision_maker"],
                "required": ["decision_maker", "economic_buyer"],
            },
        ),
        (
            {"engagement": 135.01},
            {"criterion": "engagement", "actual": 135.0, "required": 135.01},
        ),
        (
            {"min_mql_contacts": 2},
            {"criterion": "min_mql_contacts", "actual": 1, "required": 2},
        ),
    ],
)
def test_an_account_missing_one_criterion_is_engaged_and_says_which(threshold, missing):
    result = score(committee_model(**threshold), COMMITTEE, [signal()])
    assert result.status == "engaged"
    assert result.missing == (missing,)
    assert result.breakdown["missing"] == [missing]


def test_missing_lists_every_unmet_criterion_in_threshold_order():
    # given an account with one engaged champion and fit 10
    model = account_model(
        fit_rules=[FitRule("Software", Condition("industry", "eq", "software"), 10)],
        role_weights={"decision_maker": 2.0, "champion": 1.5, "user": 0.5},
        fit_floor=40,
        engagement=150,
        min_engaged_contacts=3,
        min_roles=2,
        required_roles=("decision_maker",),
        min_mql_contacts=1,
    )
    result = score(model, [member("a@acme.com", "engaged", 20.0, "champion")])
    assert result.status == "engaged"
    assert result.missing == (
        {"criterion": "fit_floor", "actual": 10, "required": 40},
        {"criterion": "min_engaged_contacts", "actual": 1, "required": 3},
        {"criterion": "min_roles", "actual": 1, "required": 2},
        {"criterion": "required_roles", "actual": ["champion"], "required": ["decision_maker"]},
        {"criterion": "engagement", "actual": 30.0, "required": 150},
        {"criterion": "min_mql_contacts", "actual": 0, "required": 1},
    )


def test_a_disqualified_account_still_reports_what_is_missing():
    customer = Disqualifier(Condition("custom.is_customer", "eq", True), "existing_customer")
    account = {**ACCOUNT, "custom": {"is_customer": True}}
    result = score(committee_model([customer], min_roles=3), COMMITTEE, [signal()], account)
    assert result.status == "disqualified"
    assert result.disqualified_reasons == ("existing_customer",)
    assert result.breakdown["disqualifiers"] == ["existing_customer"]
    assert result.missing == ({"criterion": "min_roles", "actual": 2, "required": 3},)


def test_a_matching_disqualifier_wins_over_mqa():
    disqualifiers = [
        Disqualifier(Condition("industry", "eq", "software"), "software"),
        Disqualifier(Condition("domain", "eq", "globex.com"), "globex"),
        Disqualifier(Condition("employee_count", "gt", 100), "big"),
        Disqualifier(Condition("industry", "is_set"), "software"),
    ]
    result = score(committee_model(disqualifiers), COMMITTEE, [signal()])
    assert result.status == "disqualified"
    assert result.disqualified_reasons == ("software", "big")
    assert result.missing == ()


def test_a_disqualifier_on_a_missing_custom_key_does_not_match():
    customer = Disqualifier(Condition("custom.is_customer", "neq", False), "customer")
    assert score(committee_model([customer]), COMMITTEE, [signal()]).status == "mqa"


def test_an_account_with_only_a_signal_is_engaged():
    result = score(account_model(signal_rules=[signal_rule(20)]), signals=[signal()])
    assert result.status == "engaged"
    assert result.engaged_contacts == 0
    assert result.missing == ({"criterion": "min_engaged_contacts", "actual": 0, "required": 1},)


def test_an_account_with_one_engaged_contact_is_engaged():
    result = score(account_model(min_engaged_contacts=2), [member("a@acme.com", "engaged", 1.0)])
    assert result.status == "engaged"


def test_an_account_whose_contacts_are_not_engaged_is_none_even_with_engagement():
    contacts = [member("a@acme.com", "none", 5.0), member("b@acme.com", "disqualified", 50.0)]
    result = score(account_model(signal_rules=[signal_rule(20)]), contacts, [])
    assert (result.engagement, result.status) == (5.0, "none")


def test_an_account_with_nothing_is_none():
    result = score(account_model())
    assert (result.fit, result.signal_score, result.engagement) == (0, 0.0, 0.0)
    assert result.status == "none"


def test_an_account_needs_at_least_one_engaged_contact_for_mqa_by_default():
    # given every threshold at its default (min_engaged_contacts 1, others 0) and a signal
    result = score(account_model(signal_rules=[signal_rule(20)]), signals=[signal()])
    assert result.status == "engaged"
    # when one contact is engaged, it is an MQA
    with_contact = score(account_model(), [member("a@acme.com", "engaged", 1.0)])
    assert with_contact.status == "mqa"
