"""SPEC §3 "Attributes" and §4 contact fit, engagement and status, through `score_contact`."""

from datetime import UTC, datetime, timedelta

import pytest

from mqa.scoring import Activity, ContactModel, score_contact
from mqa.scoring.engine import lookback_days
from mqa.scoring.types import (
    ActivityRule,
    Condition,
    ContactThresholds,
    Disqualifier,
    FitRule,
    round_score,
)

T = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)

ACCOUNT = {
    "domain": "acme.com",
    "name": "Acme",
    "employee_count": 250,
    "is_target": True,
    "custom": {"segment": "Enterprise", "a.b": "flat"},
}
CONTACT = {
    "email": "jo@eu.acme.com",
    "first_name": "Jo",
    "seniority": "vp",
    "buying_role": "champion",
    "custom": {"plan": "Pro", "a.b": 1, "a": {"b": 2}},
    "account": ACCOUNT,
}


def fit_rule(attribute, op, value=None, points=10, label=None):
    return FitRule(label or f"{attribute} {op}", Condition(attribute, op, value), points)


def rule(event_type="page_view", points=10, label=None, where=(), **options):
    return ActivityRule(label or event_type, event_type, points, tuple(where), **options)


def event(at, event_type="page_view", **properties):
    return Activity(event_type, at, properties)


def contact_model(
    *,
    fit_rules=(),
    engagement_rules=(),
    disqualifiers=(),
    fit_cap=100,
    engagement_cap=100,
    total=70,
    fit_floor=0,
    engagement_floor=0,
    engaged=0,
):
    return ContactModel(
        thresholds=ContactThresholds(
            total=total, fit_floor=fit_floor, engagement_floor=engagement_floor, engaged=engaged
        ),
        fit_cap=fit_cap,
        fit_rules=tuple(fit_rules),
        engagement_cap=engagement_cap,
        engagement_rules=tuple(engagement_rules),
        disqualifiers=tuple(disqualifiers),
    )


def engagement_of(rules, events, cap=100):
    model = contact_model(engagement_rules=rules, engagement_cap=cap)
    return score_contact(model, CONTACT, events, T).engagement


def fit_of(rules, contact=CONTACT, cap=100):
    return score_contact(contact_model(fit_rules=rules, fit_cap=cap), contact, [], T).fit


def matches(attribute, op, value=None, contact=CONTACT):
    return fit_of([fit_rule(attribute, op, value, points=10)], contact) == 10


# --- attributes ---------------------------------------------------------------------------


def test_email_domain_is_the_part_after_the_last_at():
    assert matches("email_domain", "eq", "eu.acme.com")
    assert not matches("email_domain", "eq", "acme.com")
    assert matches("email_domain", "eq", "acme.com", {"email": '"a@b"@acme.com'})


def test_email_domain_is_missing_without_an_email():
    assert matches("email_domain", "is_not_set", contact={"seniority": "vp"})


def test_a_contact_field_is_read_by_name():
    assert matches("seniority", "in", ("c_level", "vp"))
    assert matches("buying_role", "eq", "Champion")
    assert matches("title", "is_not_set")


def test_a_custom_key_reads_the_contact_custom_object():
    assert matches("custom.plan", "eq", "pro")
    assert not matches("custom.plan", "eq", "basic")
    assert matches("custom.missing", "is_not_set")


def test_everything_after_custom_is_one_flat_key():
    # given custom == {"a.b": 1, "a": {"b": 2}}
    assert matches("custom.a.b", "eq", 1)
    assert not matches("custom.a.b", "eq", 2)


def test_custom_keys_are_missing_when_the_contact_has_no_custom_object():
    assert matches("custom.plan", "is_not_set", contact={"email": "jo@acme.com"})
    assert not matches("custom.plan", "neq", "basic", {"email": "jo@acme.com"})


def test_an_account_field_reads_the_linked_account():
    assert matches("account.employee_count", "between", (200, 5000))
    assert matches("account.is_target", "eq", True)
    assert matches("account.domain", "eq", "acme.com")


def test_an_account_custom_key_reads_the_linked_account_custom_object():
    assert matches("account.custom.segment", "eq", "enterprise")
    assert matches("account.custom.a.b", "eq", "flat")
    # the contact's own custom object is a different record
    assert matches("account.custom.plan", "is_not_set")


@pytest.mark.parametrize(
    "unlinked",
    [
        pytest.param({**CONTACT, "account": None}, id="account-null"),
        pytest.param({k: v for k, v in CONTACT.items() if k != "account"}, id="account-absent"),
    ],
)
@pytest.mark.parametrize(
    "attribute", ["account.employee_count", "account.domain", "account.custom.segment"]
)
def test_account_attributes_are_missing_when_the_contact_is_unlinked(unlinked, attribute):
    assert matches(attribute, "is_not_set", contact=unlinked)
    assert not matches(attribute, "is_set", contact=unlinked)
    assert not matches(attribute, "neq", "anything", unlinked)
    assert not matches(attribute, "not_in", ("anything",), unlinked)


# --- fit ----------------------------------------------------------------------------------


def test_fit_sums_the_points_of_matching_rules():
    rules = [
        fit_rule("seniority", "eq", "vp", 25),
        fit_rule("account.employee_count", "gte", 200, 20),
        fit_rule("seniority", "eq", "intern", 40),
    ]
    assert fit_of(rules) == 45


def test_fit_is_capped_at_the_model_cap():
    rules = [fit_rule("seniority", "eq", "vp", 60), fit_rule("email", "is_set", points=60)]
    assert fit_of(rules) == 100
    assert fit_of(rules, cap=50) == 50


def test_negative_fit_points_subtract():
    rules = [
        fit_rule("seniority", "eq", "vp", 30),
        fit_rule("email", "is_set", points=25),
        fit_rule("custom.plan", "eq", "pro", -20),
    ]
    assert fit_of(rules) == 35


def test_fit_is_clamped_at_zero():
    assert fit_of([fit_rule("seniority", "eq", "vp", -20)]) == 0


def test_fit_clamps_the_sum_not_each_rule():
    rules = [fit_rule("seniority", "eq", "vp", 150), fit_rule("email", "is_set", points=-60)]
    assert fit_of(rules) == 90


def test_fit_is_an_integer():
    result = score_contact(
        contact_model(fit_rules=[fit_rule("seniority", "is_set")]), CONTACT, [], T
    )
    assert type(result.fit) is int


def test_the_fit_explanation_lists_matching_rules_with_their_points():
    rules = [
        fit_rule("seniority", "eq", "vp", 25, label="Senior buyer"),
        fit_rule("seniority", "eq", "intern", 40, label="Intern"),
        fit_rule("custom.plan", "eq", "pro", -5, label="Pro plan"),
    ]
    result = score_contact(contact_model(fit_rules=rules), CONTACT, [], T)
    assert result.breakdown["fit"] == [
        {"label": "Senior buyer", "attribute": "seniority", "points": 25},
        {"label": "Pro plan", "attribute": "custom.plan", "points": -5},
    ]


# --- engagement: window and future tolerance ---------------------------------------------


def test_an_event_exactly_at_the_window_start_counts():
    assert engagement_of([rule(window_days=30)], [event(T - 30 * DAY)]) == 10.0


def test_an_event_one_microsecond_before_the_window_start_does_not_count():
    assert engagement_of([rule(window_days=30)], [event(T - 30 * DAY - MICROSECOND)]) == 0.0


def test_a_fractional_window_is_measured_in_seconds():
    assert engagement_of([rule(window_days=0.5)], [event(T - 43200 * SECOND)]) == 10.0
    assert engagement_of([rule(window_days=0.5)], [event(T - 43201 * SECOND)]) == 0.0


def test_an_event_without_a_window_counts_however_old():
    assert engagement_of([rule()], [event(T - 3650 * DAY)]) == 10.0


@pytest.mark.parametrize("window_days", [None, 30])
def test_an_event_300_seconds_in_the_future_counts(window_days):
    assert engagement_of([rule(window_days=window_days)], [event(T + 300 * SECOND)]) == 10.0


@pytest.mark.parametrize("window_days", [None, 30])
@pytest.mark.parametrize(
    "ahead",
    [
        pytest.param(301 * SECOND, id="301s"),
        pytest.param(300 * SECOND + MICROSECOND, id="300s+1us"),
    ],
)
def test_an_event_further_than_300_seconds_in_the_future_does_not_count(window_days, ahead):
    assert engagement_of([rule(window_days=window_days)], [event(T + ahead)]) == 0.0


# --- engagement: decay -------------------------------------------------------------------


def test_an_event_one_half_life_old_is_worth_half_its_points():
    assert engagement_of([rule(points=40, half_life_days=7)], [event(T - 7 * DAY)]) == 20.0


def test_an_event_two_half_lives_old_is_worth_a_quarter_of_its_points():
    assert engagement_of([rule(points=40, half_life_days=7)], [event(T - 14 * DAY)]) == 10.0


def test_decay_is_continuous_in_the_age():
    # 40 × 0.5^(1/2) = 28.2842…
    assert engagement_of([rule(points=40, half_life_days=2)], [event(T - DAY)]) == 28.28


def test_an_event_at_now_is_worth_its_full_points():
    assert engagement_of([rule(points=40, half_life_days=1)], [event(T)]) == 40.0


def test_a_future_event_is_not_boosted_above_its_points():
    assert engagement_of([rule(points=40, half_life_days=1)], [event(T + 300 * SECOND)]) == 40.0


def test_without_a_half_life_old_events_keep_their_full_points():
    assert engagement_of([rule(points=40, window_days=90)], [event(T - 89 * DAY)]) == 40.0


# --- engagement: max_count, rules, where -------------------------------------------------


def test_max_count_keeps_the_most_recent_events():
    # given three events, listed oldest first, worth 10, 5 and 2.5 after decay
    events = [event(T - 20 * DAY), event(T), event(T - 10 * DAY)]
    # when only two may count
    rules = [rule(points=10, half_life_days=10, max_count=2)]
    # then the two most recent are kept
    assert engagement_of(rules, events) == 15.0


def test_max_count_limits_the_number_of_counted_events():
    events = [event(T - n * DAY) for n in range(5)]
    assert engagement_of([rule(points=10, max_count=3)], events) == 30.0
    assert engagement_of([rule(points=10)], events) == 50.0


def test_max_count_applies_after_the_where_conditions_and_the_window():
    pricing = [Condition("url", "contains", "/pricing")]
    events = [
        event(T - DAY, url="/blog"),
        event(T + 301 * SECOND, url="/pricing"),
        event(T - 5 * DAY, url="/pricing"),
    ]
    assert engagement_of([rule(where=pricing, max_count=1, window_days=30)], events) == 10.0


def test_events_of_other_types_do_not_count():
    assert engagement_of([rule("demo_request", 40)], [event(T, "page_view")]) == 0.0


def test_an_event_matching_two_rules_counts_in_both():
    rules = [
        rule("page_view", 10, label="Any page"),
        rule("page_view", 5, label="Pricing", where=[Condition("url", "contains", "/pricing")]),
    ]
    assert engagement_of(rules, [event(T, url="/pricing")]) == 15.0


def test_the_engine_counts_a_repeated_event_twice():
    # deduplication by (source, id) happens at ingest, not in the engine
    assert engagement_of([rule(points=10)], [event(T), event(T)]) == 20.0


def test_all_where_conditions_must_hold():
    where = [Condition("url", "contains", "/pricing"), Condition("plan", "eq", "team")]
    rules = [rule(points=10, where=where)]
    assert engagement_of(rules, [event(T, url="/pricing", plan="Team")]) == 10.0
    assert engagement_of(rules, [event(T, url="/pricing", plan="solo")]) == 0.0
    assert engagement_of(rules, [event(T, url="/blog", plan="team")]) == 0.0


def test_where_conditions_read_flat_property_keys():
    rules = [rule(points=10, where=[Condition("utm.source", "eq", "linkedin")])]
    assert engagement_of(rules, [event(T, **{"utm.source": "LinkedIn"})]) == 10.0
    assert engagement_of(rules, [event(T, utm={"source": "linkedin"})]) == 0.0


def test_where_on_an_absent_property_follows_the_missing_value_rule():
    absent = [event(T)]
    assert engagement_of([rule(where=[Condition("url", "is_not_set")])], absent) == 10.0
    assert engagement_of([rule(where=[Condition("url", "neq", "/x")])], absent) == 0.0
    assert (
        engagement_of([rule(where=[Condition("url", "neq", "/x")])], [event(T, url="/y")]) == 10.0
    )


# --- engagement: cap, clamp, rounding ----------------------------------------------------


def test_engagement_is_capped():
    events = [event(T - n * DAY, "demo_request") for n in range(3)]
    assert engagement_of([rule("demo_request", 40)], events) == 100.0
    assert engagement_of([rule("demo_request", 40)], events, cap=50) == 50.0


def test_engagement_caps_the_sum_not_the_running_total():
    rules = [rule("demo_request", 150), rule("unsubscribe", -60)]
    events = [event(T, "demo_request"), event(T, "unsubscribe")]
    assert engagement_of(rules, events) == 90.0


def test_negative_points_lower_engagement():
    rules = [rule("demo_request", 40), rule("unsubscribe", -30)]
    events = [event(T, "demo_request"), event(T, "unsubscribe")]
    assert engagement_of(rules, events) == 10.0


def test_engagement_is_clamped_at_zero():
    assert engagement_of([rule("unsubscribe", -30)], [event(T, "unsubscribe")]) == 0.0


def test_engagement_without_events_is_zero():
    assert engagement_of([rule()], []) == 0.0


@pytest.mark.parametrize(
    ("points", "expected"),
    [(1, 0.13), (3, 0.38), (5, 0.63), (7, 0.88)],
)
def test_engagement_is_rounded_to_two_decimals_half_away_from_zero(points, expected):
    # given an event three half-lives old: points × 0.125 is exactly halfway (0.125, 0.375, …)
    assert engagement_of([rule(points=points, half_life_days=1)], [event(T - 3 * DAY)]) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.125, 0.13), (-0.125, -0.13), (0.625, 0.63), (-0.625, -0.63), (2.5, 2.5), (1.234, 1.23)],
)
def test_round_score_rounds_half_away_from_zero(value, expected):
    assert round_score(value) == expected


def test_the_engagement_explanation_lists_contributing_rules():
    rules = [
        rule("page_view", 10, label="Pricing", half_life_days=10),
        rule("demo_request", 40, label="Demo"),
        rule("webinar", 15, label="Webinar"),
    ]
    events = [event(T), event(T - 10 * DAY), event(T - DAY, "demo_request")]
    result = score_contact(contact_model(engagement_rules=rules), CONTACT, events, T)
    assert result.engagement == 55.0
    assert result.breakdown["engagement"] == [
        {"label": "Pricing", "type": "page_view", "count": 2, "points": 15.0},
        {"label": "Demo", "type": "demo_request", "count": 1, "points": 40.0},
    ]


def test_lookback_days_is_the_longest_window_or_none_when_a_rule_has_none():
    assert lookback_days([rule(window_days=30), rule(window_days=90)]) == 90
    assert lookback_days([rule(window_days=30), rule()]) is None


# --- status ------------------------------------------------------------------------------

THRESHOLDS = {"total": 70, "fit_floor": 30, "engagement_floor": 20, "engaged": 10}


def scored(fit, engagement, disqualifiers=(), contact=CONTACT, **thresholds):
    model = contact_model(
        fit_rules=[fit_rule("email", "is_set", points=fit)],
        engagement_rules=[rule("demo_request", engagement)],
        disqualifiers=disqualifiers,
        **(thresholds or THRESHOLDS),
    )
    return score_contact(model, contact, [event(T, "demo_request")], T)


@pytest.mark.parametrize(
    ("fit", "engagement", "status"),
    [
        pytest.param(50, 20, "mql", id="every-threshold-met-exactly"),
        pytest.param(30, 40, "mql", id="fit-floor-met-exactly"),
        pytest.param(60, 30, "mql", id="above-every-threshold"),
        pytest.param(29, 50, "engaged", id="fit-below-floor"),
        pytest.param(60, 19, "engaged", id="engagement-below-floor"),
        pytest.param(40, 29, "engaged", id="total-below-threshold"),
        pytest.param(0, 10, "engaged", id="engaged-threshold-met-exactly"),
        pytest.param(0, 9, "none", id="below-engaged-threshold"),
        pytest.param(100, 5, "none", id="high-fit-little-engagement"),
        pytest.param(0, 0, "none", id="nothing"),
    ],
)
def test_contact_status(fit, engagement, status):
    result = scored(fit, engagement)
    assert (result.fit, result.engagement) == (fit, engagement)
    assert result.status == status
    assert result.disqualified_reasons == ()


def test_mql_needs_no_engagement_when_the_floors_are_zero():
    assert scored(70, 0, total=70).status == "mql"


def test_engaged_needs_engagement_above_zero_even_with_a_zero_threshold():
    assert scored(10, 0, total=70, engaged=0).status == "none"
    assert scored(10, 1, total=70, engaged=0).status == "engaged"


def test_the_total_is_fit_plus_engagement():
    result = scored(50, 20)
    assert result.total == 70.0


def test_a_matching_disqualifier_wins_over_mql():
    no_vps = Disqualifier(Condition("seniority", "eq", "vp"), "no_vps")
    result = scored(100, 100, disqualifiers=[no_vps])
    assert result.status == "disqualified"
    assert result.disqualified_reasons == ("no_vps",)
    assert result.breakdown["disqualifiers"] == ["no_vps"]


def test_a_disqualified_contact_keeps_its_scores():
    result = scored(50, 20, disqualifiers=[Disqualifier(Condition("email", "is_set"), "x")])
    assert (result.fit, result.engagement, result.status) == (50, 20.0, "disqualified")


def test_a_contact_without_scores_can_be_disqualified():
    result = scored(0, 0, disqualifiers=[Disqualifier(Condition("email", "is_set"), "x")])
    assert result.status == "disqualified"


def test_disqualified_reasons_are_in_model_order_without_repeats():
    disqualifiers = [
        Disqualifier(Condition("seniority", "eq", "vp"), "zeta"),
        Disqualifier(Condition("custom.plan", "eq", "basic"), "not_matching"),
        Disqualifier(Condition("email_domain", "ends_with", "acme.com"), "alpha"),
        Disqualifier(Condition("custom.plan", "eq", "pro"), "zeta"),
        Disqualifier(Condition("first_name", "eq", "jo"), "mid"),
    ]
    result = scored(50, 20, disqualifiers=disqualifiers)
    assert result.status == "disqualified"
    assert result.disqualified_reasons == ("zeta", "alpha", "mid")


def test_a_disqualifier_that_does_not_match_changes_nothing():
    result = scored(50, 20, disqualifiers=[Disqualifier(Condition("title", "is_set"), "x")])
    assert result.status == "mql"
    assert result.disqualified_reasons == ()


def test_a_disqualifier_on_an_unlinked_account_attribute_does_not_match():
    unlinked = {**CONTACT, "account": None}
    customer = Disqualifier(Condition("account.custom.is_customer", "neq", False), "customer")
    assert scored(50, 20, disqualifiers=[customer], contact=unlinked).status == "mql"
