"""Properties of SPEC §4 that must hold for any events, rules and committees.

The engine does not deduplicate events (that happens at ingest by `(source, id)`), so a
repeated event counts twice; the properties here are the ones that hold regardless.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mqa.scoring import (
    AccountModel,
    Activity,
    CommitteeMember,
    ContactModel,
    score_account,
    score_contact,
)
from mqa.scoring.types import (
    AccountThresholds,
    ActivityRule,
    Condition,
    ContactThresholds,
    FitRule,
)

T = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
USED_TYPES = ("page_view", "demo_request")
UNUSED_TYPES = ("email_open", "unused")
ROLES = ("decision_maker", "champion", "user", "influencer", None)
STATUSES = ("none", "engaged", "mql", "disqualified")
CONTACT = {"email": "jo@acme.com", "seniority": "vp", "custom": {}, "account": None}
ACCOUNT = {"domain": "acme.com", "employee_count": 500, "custom": {}}

PROPERTIES = settings(max_examples=200, deadline=None, database=None)


MICROS_PER_DAY = 86400 * 10**6
# whole days back (distinct ages), any instant, and the window / future-tolerance edges
OFFSETS = st.one_of(
    st.integers(min_value=-120, max_value=0).map(lambda days: days * MICROS_PER_DAY),
    st.integers(min_value=-120 * MICROS_PER_DAY, max_value=600 * 10**6),
    st.sampled_from([300 * 10**6, 301 * 10**6, -7 * MICROS_PER_DAY, -7 * MICROS_PER_DAY - 1]),
)


def activities(types):
    """Events from ~120 days ago up to 600 s ahead of T, so windows and the future edge bite."""
    return st.builds(
        lambda kind, microseconds, url: Activity(
            kind, T + timedelta(microseconds=microseconds), {} if url is None else {"url": url}
        ),
        st.sampled_from(types),
        OFFSETS,
        st.sampled_from([None, "/pricing", "/blog", "/pricing/team", "  "]),
    )


WHERE = st.sampled_from(
    [
        (),
        (Condition("url", "contains", "/pricing"),),
        (Condition("url", "is_not_set"),),
        (Condition("url", "neq", "/blog"),),
    ]
)

RULES = st.builds(
    ActivityRule,
    label=st.sampled_from(["a", "b"]),
    type=st.sampled_from(USED_TYPES),
    points=st.integers(min_value=-100, max_value=100),
    where=WHERE,
    max_count=st.none() | st.integers(min_value=1, max_value=3),
    window_days=st.none() | st.integers(min_value=1, max_value=90) | st.sampled_from([0.5, 7.25]),
    half_life_days=st.none() | st.integers(min_value=1, max_value=30) | st.just(2.5),
)

CONTACT_MODELS = st.builds(
    lambda rules, cap, fit, total, floor, engaged: ContactModel(
        thresholds=ContactThresholds(
            total=total, fit_floor=0, engagement_floor=floor, engaged=engaged
        ),
        fit_rules=(FitRule("vp", Condition("seniority", "eq", "vp"), fit),),
        engagement_cap=cap,
        engagement_rules=tuple(rules),
    ),
    st.lists(RULES, max_size=4),
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=1, max_value=150),
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=50),
)

WEIGHTS = st.floats(min_value=0, max_value=3, allow_nan=False, allow_infinity=False)

ACCOUNT_MODELS = st.builds(
    lambda weights, default, signal_rules, engagement, engaged, roles, mql: AccountModel(
        thresholds=AccountThresholds(
            engagement=engagement,
            min_engaged_contacts=engaged,
            min_roles=roles,
            required_roles=("decision_maker",) if roles else (),
            min_mql_contacts=mql,
        ),
        fit_rules=(FitRule("size", Condition("employee_count", "gte", 200), 50),),
        signal_rules=tuple(replace(rule, type="intent_surge") for rule in signal_rules),
        role_weights=weights,
        default_role_weight=default,
    ),
    st.dictionaries(st.sampled_from(ROLES[:-1]), WEIGHTS, max_size=4),
    WEIGHTS,
    st.lists(RULES, max_size=2),
    st.integers(min_value=0, max_value=300),
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=0, max_value=2),
)

COMMITTEES = st.lists(
    st.tuples(
        st.sampled_from(STATUSES),
        st.integers(min_value=0, max_value=10_000).map(lambda cents: cents / 100),
        st.sampled_from(ROLES),
    ),
    max_size=8,
).map(
    lambda rows: [
        CommitteeMember(f"c{i}@acme.com", role, status, engagement)
        for i, (status, engagement, role) in enumerate(rows)
    ]
)

SIGNALS = st.lists(activities(("intent_surge", "visit")), max_size=6)


def has_at_most_two_decimals(value):
    exact = Decimal(repr(value))
    return exact == exact.quantize(Decimal("0.01"))


@PROPERTIES
@given(CONTACT_MODELS, st.lists(activities(USED_TYPES), min_size=2, max_size=12), st.data())
def test_event_order_never_changes_the_contact_result(model, events, data):
    shuffled = data.draw(st.permutations(events))
    assert score_contact(model, CONTACT, shuffled, T) == score_contact(model, CONTACT, events, T)


@PROPERTIES
@given(
    CONTACT_MODELS,
    st.lists(activities(USED_TYPES), max_size=10),
    st.lists(activities(UNUSED_TYPES), min_size=1, max_size=5),
    st.data(),
)
def test_events_of_a_type_no_rule_uses_change_nothing(model, events, unused, data):
    mixed = data.draw(st.permutations(events + unused))
    assert score_contact(model, CONTACT, mixed, T) == score_contact(model, CONTACT, events, T)


@PROPERTIES
@given(CONTACT_MODELS, st.lists(activities(USED_TYPES + UNUSED_TYPES), max_size=15))
def test_engagement_is_within_zero_and_the_cap_with_at_most_two_decimals(model, events):
    engagement = score_contact(model, CONTACT, events, T).engagement
    assert 0 <= engagement <= model.engagement_cap
    assert has_at_most_two_decimals(engagement)


@PROPERTIES
@given(ACCOUNT_MODELS, COMMITTEES, SIGNALS, st.data())
def test_contact_order_never_changes_the_account_result(model, committee, signals, data):
    shuffled = data.draw(st.permutations(committee))
    expected = score_account(model, ACCOUNT, committee, signals, T)
    assert score_account(model, ACCOUNT, shuffled, signals, T) == expected


@PROPERTIES
@given(ACCOUNT_MODELS, COMMITTEES, SIGNALS)
def test_account_scores_are_non_negative_with_at_most_two_decimals(model, committee, signals):
    result = score_account(model, ACCOUNT, committee, signals, T)
    assert result.signal_score >= 0
    assert result.engagement >= result.signal_score
    assert has_at_most_two_decimals(result.signal_score)
    assert has_at_most_two_decimals(result.engagement)


@PROPERTIES
@given(
    ACCOUNT_MODELS,
    COMMITTEES.filter(bool),
    SIGNALS,
    st.integers(min_value=0, max_value=10_000),
    st.data(),
)
def test_raising_a_contact_engagement_never_lowers_account_engagement(
    model, committee, signals, raise_cents, data
):
    index = data.draw(st.integers(min_value=0, max_value=len(committee) - 1))
    raised = list(committee)
    raised[index] = replace(
        committee[index], engagement=committee[index].engagement + raise_cents / 100
    )
    before = score_account(model, ACCOUNT, committee, signals, T).engagement
    after = score_account(model, ACCOUNT, raised, signals, T).engagement
    assert after >= before
