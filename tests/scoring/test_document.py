"""SPEC §3: the `mqa.scoring-model/v1` document — parsing, defaults, round trip, rejections."""

import copy
import json

import pytest

from mqa.scoring import DocumentError, ScoringModel, dump_document, parse_document
from mqa.scoring.types import (
    AccountModel,
    AccountThresholds,
    ActivityRule,
    Condition,
    ContactModel,
    ContactThresholds,
    Disqualifier,
    FitRule,
)

SPEC_EXAMPLE = {
    "format": "mqa.scoring-model/v1",
    "name": "B2B default",
    "contact": {
        "fit": {
            "cap": 100,
            "rules": [
                {
                    "label": "Senior buyer",
                    "attribute": "seniority",
                    "op": "in",
                    "value": ["c_level", "vp", "director"],
                    "points": 25,
                },
                {
                    "label": "ICP size",
                    "attribute": "account.employee_count",
                    "op": "between",
                    "value": [200, 5000],
                    "points": 20,
                },
            ],
        },
        "engagement": {
            "cap": 100,
            "rules": [
                {
                    "label": "Pricing page",
                    "event_type": "page_view",
                    "where": [{"property": "url", "op": "contains", "value": "/pricing"}],
                    "points": 10,
                    "max_count": 3,
                    "window_days": 30,
                    "half_life_days": None,
                },
                {
                    "label": "Demo request",
                    "event_type": "demo_request",
                    "points": 40,
                    "window_days": 90,
                },
            ],
        },
        "disqualifiers": [
            {
                "attribute": "seniority",
                "op": "in",
                "value": ["student", "intern"],
                "reason": "student_or_intern",
            }
        ],
        "thresholds": {"fit_floor": 30, "engagement_floor": 20, "total": 70, "engaged": 10},
    },
    "account": {
        "fit": {
            "cap": 100,
            "rules": [{"attribute": "employee_count", "op": "gte", "value": 200, "points": 50}],
        },
        "signals": {
            "rules": [
                {"signal_type": "intent_surge", "points": 20, "max_count": 1, "window_days": 30}
            ]
        },
        "disqualifiers": [
            {
                "attribute": "custom.is_customer",
                "op": "eq",
                "value": True,
                "reason": "existing_customer",
            }
        ],
        "role_weights": {"decision_maker": 2.0, "champion": 1.5, "user": 0.5},
        "default_role_weight": 1.0,
        "thresholds": {
            "fit_floor": 40,
            "engagement": 150,
            "min_engaged_contacts": 3,
            "min_roles": 2,
            "required_roles": ["decision_maker"],
            "min_mql_contacts": 1,
        },
    },
}

MINIMAL = {
    "format": "mqa.scoring-model/v1",
    "name": "Minimal",
    "contact": {"thresholds": {"total": 70}},
}


def example():
    return copy.deepcopy(SPEC_EXAMPLE)


def error_paths(document):
    with pytest.raises(DocumentError) as caught:
        parse_document(document)
    return {path for path, _message in caught.value.errors}


# --- parsing -----------------------------------------------------------------------------


def test_the_spec_example_parses_into_the_model_it_describes():
    expected = ScoringModel(
        name="B2B default",
        contact=ContactModel(
            thresholds=ContactThresholds(total=70, fit_floor=30, engagement_floor=20, engaged=10),
            fit_cap=100,
            fit_rules=(
                FitRule(
                    "Senior buyer", Condition("seniority", "in", ("c_level", "vp", "director")), 25
                ),
                FitRule(
                    "ICP size", Condition("account.employee_count", "between", (200, 5000)), 20
                ),
            ),
            engagement_cap=100,
            engagement_rules=(
                ActivityRule(
                    "Pricing page",
                    "page_view",
                    10,
                    where=(Condition("url", "contains", "/pricing"),),
                    max_count=3,
                    window_days=30,
                ),
                ActivityRule("Demo request", "demo_request", 40, window_days=90),
            ),
            disqualifiers=(
                Disqualifier(
                    Condition("seniority", "in", ("student", "intern")), "student_or_intern"
                ),
            ),
        ),
        account=AccountModel(
            thresholds=AccountThresholds(
                fit_floor=40,
                engagement=150,
                min_engaged_contacts=3,
                min_roles=2,
                required_roles=("decision_maker",),
                min_mql_contacts=1,
            ),
            fit_cap=100,
            fit_rules=(FitRule("employee_count gte", Condition("employee_count", "gte", 200), 50),),
            signal_rules=(
                ActivityRule("intent_surge", "intent_surge", 20, max_count=1, window_days=30),
            ),
            disqualifiers=(
                Disqualifier(Condition("custom.is_customer", "eq", True), "existing_customer"),
            ),
            role_weights={"decision_maker": 2.0, "champion": 1.5, "user": 0.5},
            default_role_weight=1.0,
        ),
    )
    assert parse_document(example()) == expected


def test_omitted_optional_keys_take_their_defaults():
    model = parse_document(copy.deepcopy(MINIMAL))
    assert model == ScoringModel(
        name="Minimal",
        contact=ContactModel(thresholds=ContactThresholds(total=70)),
        account=AccountModel(),
    )
    assert model.contact.fit_cap == 100
    assert model.contact.engagement_cap == 100
    assert model.contact.thresholds == ContactThresholds(
        total=70, fit_floor=0, engagement_floor=0, engaged=0
    )
    assert model.account.fit_cap == 100
    assert model.account.role_weights == {}
    assert model.account.default_role_weight == 1.0
    assert model.account.thresholds == AccountThresholds(
        fit_floor=0,
        engagement=0,
        min_engaged_contacts=1,
        min_roles=0,
        required_roles=(),
        min_mql_contacts=0,
    )


def test_omitted_rule_options_take_their_defaults():
    document = copy.deepcopy(MINIMAL)
    document["contact"]["engagement"] = {"rules": [{"event_type": "webinar", "points": 15}]}
    document["account"] = {"signals": {"rules": [{"signal_type": "visit", "points": 5}]}}
    model = parse_document(document)
    assert model.contact.engagement_rules == (
        ActivityRule(
            "webinar",
            "webinar",
            15,
            where=(),
            max_count=None,
            window_days=None,
            half_life_days=None,
        ),
    )
    assert model.account.signal_rules == (ActivityRule("visit", "visit", 5),)


def test_presence_operators_take_no_value():
    document = copy.deepcopy(MINIMAL)
    document["contact"]["fit"] = {
        "rules": [
            {"attribute": "title", "op": "is_set", "points": 5},
            {"attribute": "custom.x", "op": "is_not_set", "value": None, "points": 1},
        ]
    }
    rules = parse_document(document).contact.fit_rules
    assert [rule.condition for rule in rules] == [
        Condition("title", "is_set", None),
        Condition("custom.x", "is_not_set", None),
    ]


def test_points_at_the_limits_are_accepted():
    document = example()
    document["contact"]["fit"]["rules"][0]["points"] = 1000
    document["contact"]["fit"]["rules"][1]["points"] = -1000
    rules = parse_document(document).contact.fit_rules
    assert [rule.points for rule in rules] == [1000, -1000]


def test_type_names_are_trimmed_and_lower_cased():
    document = example()
    document["contact"]["engagement"]["rules"][0]["event_type"] = "  Page_View "
    document["account"]["signals"]["rules"][0]["signal_type"] = "Intent_Surge"
    model = parse_document(document)
    assert model.contact.engagement_rules[0].type == "page_view"
    assert model.account.signal_rules[0].type == "intent_surge"


def test_role_keys_and_required_roles_are_trimmed_and_lower_cased():
    document = example()
    document["account"]["role_weights"] = {" Decision_Maker ": 2.0, "Head of IT": 1.5}
    document["account"]["thresholds"]["required_roles"] = ["DECISION_MAKER", " Head of IT "]
    model = parse_document(document)
    assert model.account.role_weights == {"decision_maker": 2.0, "head of it": 1.5}
    assert model.account.thresholds.required_roles == ("decision_maker", "head of it")


def test_domain_values_in_equality_rules_are_normalised_like_account_domains():
    document = example()
    document["contact"]["disqualifiers"].append(
        {
            "attribute": "email_domain",
            "op": "in",
            "value": ["WWW.Gmail.com", "https://x.io/"],
            "reason": "free_mail",
        }
    )
    document["account"]["disqualifiers"].append(
        {
            "attribute": "domain",
            "op": "eq",
            "value": "https://user@www.Acme.com:443/x",
            "reason": "self",
        }
    )
    model = parse_document(document)
    assert model.contact.disqualifiers[1].condition.value == ("gmail.com", "x.io")
    assert model.account.disqualifiers[1].condition.value == "acme.com"


# --- round trip --------------------------------------------------------------------------


def test_dump_then_parse_round_trips_the_spec_example():
    model = parse_document(example())
    assert parse_document(dump_document(model)) == model


def test_the_dumped_document_is_plain_json_that_round_trips():
    model = parse_document(example())
    assert parse_document(json.loads(json.dumps(dump_document(model)))) == model


def test_dump_then_parse_round_trips_presence_operators_defaults_and_rich_rules():
    document = copy.deepcopy(MINIMAL)
    document["contact"]["fit"] = {
        "cap": 80,
        "rules": [
            {"attribute": "title", "op": "is_set", "points": 5},
            {"attribute": "custom.a.b", "op": "regex", "value": "^(vp|svp)[ ._-]", "points": 7},
            {
                "attribute": "account.annual_revenue",
                "op": "between",
                "value": [1e6, 5e7],
                "points": -3,
            },
        ],
    }
    document["contact"]["engagement"] = {
        "cap": 60,
        "rules": [
            {
                "event_type": "email_click",
                "where": [
                    {"property": "campaign", "op": "not_in", "value": ["x", 1, True]},
                    {"property": "ref", "op": "is_not_set"},
                ],
                "points": -2,
                "max_count": 5,
                "window_days": 7.5,
                "half_life_days": 3,
            }
        ],
    }
    document["account"] = {"role_weights": {"user": 0}, "default_role_weight": 0.5}
    model = parse_document(document)
    dumped = dump_document(model)
    assert parse_document(dumped) == model
    assert dump_document(parse_document(dumped)) == dumped


def test_the_dump_spells_out_every_default():
    dumped = dump_document(parse_document(copy.deepcopy(MINIMAL)))
    assert dumped == {
        "format": "mqa.scoring-model/v1",
        "name": "Minimal",
        "contact": {
            "fit": {"cap": 100, "rules": []},
            "engagement": {"cap": 100, "rules": []},
            "disqualifiers": [],
            "thresholds": {"fit_floor": 0, "engagement_floor": 0, "total": 70, "engaged": 0},
        },
        "account": {
            "fit": {"cap": 100, "rules": []},
            "signals": {"rules": []},
            "disqualifiers": [],
            "role_weights": {},
            "default_role_weight": 1.0,
            "thresholds": {
                "fit_floor": 0,
                "engagement": 0,
                "min_engaged_contacts": 1,
                "min_roles": 0,
                "required_roles": [],
                "min_mql_contacts": 0,
            },
        },
        "segments": [],
    }


# --- rejections --------------------------------------------------------------------------


def _set(path, value):
    """A mutation that sets `value` at `path` (a list of keys and indexes) of the example."""

    def mutate(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path):
    def mutate(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


FIT0 = ["contact", "fit", "rules", 0]
FIT1 = ["contact", "fit", "rules", 1]
ENG0 = ["contact", "engagement", "rules", 0]
WHERE0 = [*ENG0, "where", 0]
SIG0 = ["account", "signals", "rules", 0]
ACCOUNT_FIT0 = ["account", "fit", "rules", 0]
CONTACT_DQ0 = ["contact", "disqualifiers", 0]
ACCOUNT_DQ0 = ["account", "disqualifiers", 0]
CT = ["contact", "thresholds"]
AT = ["account", "thresholds"]

REJECTIONS = [
    # unknown keys, anywhere
    ("unknown-top-level-key", _set(["version"], 2), "version"),
    ("unknown-contact-key", _set(["contact", "scoring"], {}), "contact.scoring"),
    ("unknown-fit-key", _set(["contact", "fit", "floor"], 1), "contact.fit.floor"),
    ("unknown-fit-rule-key", _set([*FIT1, "weight"], 1), "contact.fit.rules[1].weight"),
    ("unknown-activity-key", _set([*ENG0, "decay"], 1), "contact.engagement.rules[0].decay"),
    (
        "unknown-where-key",
        _set([*WHERE0, "case"], "x"),
        "contact.engagement.rules[0].where[0].case",
    ),
    (
        "unknown-disqualifier-key",
        _set([*CONTACT_DQ0, "points"], 1),
        "contact.disqualifiers[0].points",
    ),
    ("unknown-contact-threshold", _set([*CT, "mql"], 1), "contact.thresholds.mql"),
    ("signals-have-no-cap", _set(["account", "signals", "cap"], 100), "account.signals.cap"),
    (
        "unknown-signal-rule-key",
        _set([*SIG0, "event_type"], "x"),
        "account.signals.rules[0].event_type",
    ),
    ("unknown-account-key", _set(["account", "weights"], {}), "account.weights"),
    ("unknown-account-threshold", _set([*AT, "min_mqls"], 1), "account.thresholds.min_mqls"),
    # unknown attributes
    (
        "contact-account-domain",
        _set([*FIT0, "attribute"], "account_domain"),
        "contact.fit.rules[0].attribute",
    ),
    (
        "contact-unknown-field",
        _set([*FIT0, "attribute"], "salary"),
        "contact.fit.rules[0].attribute",
    ),
    (
        "contact-bare-custom",
        _set([*FIT0, "attribute"], "custom."),
        "contact.fit.rules[0].attribute",
    ),
    (
        "contact-account-email",
        _set([*FIT1, "attribute"], "account.email"),
        "contact.fit.rules[1].attribute",
    ),
    (
        "contact-account-account",
        _set([*FIT1, "attribute"], "account.account.domain"),
        "contact.fit.rules[1].attribute",
    ),
    (
        "account-contact-field",
        _set([*ACCOUNT_FIT0, "attribute"], "seniority"),
        "account.fit.rules[0].attribute",
    ),
    (
        "account-email-domain",
        _set([*ACCOUNT_DQ0, "attribute"], "email_domain"),
        "account.disqualifiers[0].attribute",
    ),
    (
        "account-account-prefix",
        _set([*ACCOUNT_DQ0, "attribute"], "account.domain"),
        "account.disqualifiers[0].attribute",
    ),
    (
        "disqualifier-unknown-attribute",
        _set([*CONTACT_DQ0, "attribute"], "age"),
        "contact.disqualifiers[0].attribute",
    ),
    # unknown operators
    ("unknown-fit-op", _set([*FIT0, "op"], "equals"), "contact.fit.rules[0].op"),
    ("unknown-where-op", _set([*WHERE0, "op"], "like"), "contact.engagement.rules[0].where[0].op"),
    ("upper-case-op", _set([*ACCOUNT_FIT0, "op"], "GTE"), "account.fit.rules[0].op"),
    # a value of the wrong type for its op
    ("in-with-a-string", _set([*FIT0, "value"], "vp"), "contact.fit.rules[0].value"),
    ("in-with-an-object", _set([*FIT0, "value"], [{"vp": 1}]), "contact.fit.rules[0].value"),
    ("between-one-number", _set([*FIT1, "value"], [200]), "contact.fit.rules[1].value"),
    ("between-three-numbers", _set([*FIT1, "value"], [1, 2, 3]), "contact.fit.rules[1].value"),
    ("between-strings", _set([*FIT1, "value"], ["200", "5000"]), "contact.fit.rules[1].value"),
    ("between-booleans", _set([*FIT1, "value"], [False, True]), "contact.fit.rules[1].value"),
    ("gte-a-string", _set([*ACCOUNT_FIT0, "value"], "200"), "account.fit.rules[0].value"),
    ("gte-a-boolean", _set([*ACCOUNT_FIT0, "value"], True), "account.fit.rules[0].value"),
    (
        "contains-a-number",
        _set([*WHERE0, "value"], 5),
        "contact.engagement.rules[0].where[0].value",
    ),
    ("eq-a-list", _set([*ACCOUNT_DQ0, "value"], [True]), "account.disqualifiers[0].value"),
    ("eq-null", _set([*ACCOUNT_DQ0, "value"], None), "account.disqualifiers[0].value"),
    ("eq-without-value", _delete([*ACCOUNT_DQ0, "value"]), "account.disqualifiers[0].value"),
    ("is-set-with-a-value", _set([*FIT0, "op"], "is_set"), "contact.fit.rules[0].value"),
    (
        "regex-a-number",
        _set([*WHERE0], {"property": "url", "op": "regex", "value": 1}),
        "contact.engagement.rules[0].where[0].value",
    ),
    # between with lo > hi
    ("between-reversed", _set([*FIT1, "value"], [5000, 200]), "contact.fit.rules[1].value"),
    # regex outside the portable subset
    (
        "regex-word-boundary",
        _set([*WHERE0], {"property": "url", "op": "regex", "value": r"\bpricing\b"}),
        "contact.engagement.rules[0].where[0].value",
    ),
    (
        "regex-inline-flag",
        _set([*FIT0], {"attribute": "title", "op": "regex", "value": "(?i)vp", "points": 1}),
        "contact.fit.rules[0].value",
    ),
    (
        "regex-lazy",
        _set([*FIT0], {"attribute": "title", "op": "regex", "value": "v.*?p", "points": 1}),
        "contact.fit.rules[0].value",
    ),
    # points
    ("points-above-1000", _set([*FIT0, "points"], 1001), "contact.fit.rules[0].points"),
    (
        "points-below-minus-1000",
        _set([*ENG0, "points"], -1001),
        "contact.engagement.rules[0].points",
    ),
    ("points-fractional", _set([*SIG0, "points"], 10.5), "account.signals.rules[0].points"),
    ("points-string", _set([*ACCOUNT_FIT0, "points"], "50"), "account.fit.rules[0].points"),
    ("points-boolean", _set([*FIT0, "points"], True), "contact.fit.rules[0].points"),
    ("points-missing", _delete([*FIT1, "points"]), "contact.fit.rules[1].points"),
    # max_count, window_days, half_life_days positive when given
    ("max-count-zero", _set([*ENG0, "max_count"], 0), "contact.engagement.rules[0].max_count"),
    ("max-count-negative", _set([*SIG0, "max_count"], -1), "account.signals.rules[0].max_count"),
    (
        "max-count-fractional",
        _set([*ENG0, "max_count"], 1.5),
        "contact.engagement.rules[0].max_count",
    ),
    ("window-zero", _set([*ENG0, "window_days"], 0), "contact.engagement.rules[0].window_days"),
    ("window-negative", _set([*SIG0, "window_days"], -30), "account.signals.rules[0].window_days"),
    (
        "window-string",
        _set([*ENG0, "window_days"], "30"),
        "contact.engagement.rules[0].window_days",
    ),
    (
        "half-life-zero",
        _set([*ENG0, "half_life_days"], 0),
        "contact.engagement.rules[0].half_life_days",
    ),
    (
        "half-life-negative",
        _set([*SIG0, "half_life_days"], -7),
        "account.signals.rules[0].half_life_days",
    ),
    # thresholds
    (
        "min-engaged-contacts-zero",
        _set([*AT, "min_engaged_contacts"], 0),
        "account.thresholds.min_engaged_contacts",
    ),
    ("total-missing", _delete([*CT, "total"]), "contact.thresholds.total"),
    ("total-zero", _set([*CT, "total"], 0), "contact.thresholds.total"),
    ("total-negative", _set([*CT, "total"], -10), "contact.thresholds.total"),
    ("total-string", _set([*CT, "total"], "70"), "contact.thresholds.total"),
    # format and name
    ("wrong-format", _set(["format"], "mqa.scoring-model/v2"), "format"),
    ("missing-format", _delete(["format"]), "format"),
    ("missing-name", _delete(["name"]), "name"),
    # type names
    (
        "event-type-with-a-space",
        _set([*ENG0, "event_type"], "page view"),
        "contact.engagement.rules[0].event_type",
    ),
    (
        "empty-signal-type",
        _set([*SIG0, "signal_type"], "  "),
        "account.signals.rules[0].signal_type",
    ),
    (
        "negative-role-weight",
        _set(["account", "role_weights", "user"], -1),
        "account.role_weights.user",
    ),
    (
        "empty-required-role",
        _set([*AT, "required_roles"], [" "]),
        "account.thresholds.required_roles[0]",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path"), [pytest.param(m, p, id=name) for name, m, p in REJECTIONS]
)
def test_an_invalid_document_is_rejected_naming_the_path(mutate, path):
    # given the SPEC example with one defect
    document = example()
    mutate(document)
    # then parsing names exactly that path
    assert error_paths(document) == {path}


def test_missing_contact_thresholds_are_reported_with_the_required_total():
    document = example()
    del document["contact"]["thresholds"]
    assert error_paths(document) == {"contact.thresholds", "contact.thresholds.total"}


def test_the_error_message_names_the_path():
    document = example()
    document["contact"]["fit"]["rules"][1]["value"] = [5000, 200]
    with pytest.raises(DocumentError, match=r"contact\.fit\.rules\[1\]\.value"):
        parse_document(document)


def test_a_document_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_document({"format": "mqa.scoring-model/v1"})


def test_several_errors_are_reported_at_once():
    document = example()
    document["contact"]["fit"]["rules"][0]["op"] = "equals"
    document["contact"]["fit"]["rules"][1]["value"] = [5000, 200]
    document["contact"]["engagement"]["rules"][1]["window_days"] = 0
    document["contact"]["disqualifiers"][0]["attribute"] = "age"
    document["account"]["signals"]["rules"][0]["points"] = 5000
    document["account"]["thresholds"]["min_engaged_contacts"] = 0
    document["account"]["extra"] = True
    assert error_paths(document) == {
        "contact.fit.rules[0].op",
        "contact.fit.rules[1].value",
        "contact.engagement.rules[1].window_days",
        "contact.disqualifiers[0].attribute",
        "account.signals.rules[0].points",
        "account.thresholds.min_engaged_contacts",
        "account.extra",
    }


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(None, id="null"),
        pytest.param([], id="list"),
        pytest.param("mqa.scoring-model/v1", id="string"),
    ],
)
def test_a_document_that_is_not_an_object_is_rejected(document):
    with pytest.raises(DocumentError):
        parse_document(document)


def test_a_regex_longer_than_200_characters_is_rejected_naming_the_path():
    document = example()
    pattern = "a" * 201
    document["contact"]["fit"]["rules"][0] = {
        "attribute": "title",
        "op": "regex",
        "value": pattern,
        "points": 1,
    }

    with pytest.raises(DocumentError) as raised:
        parse_document(document)

    assert raised.value.errors == [
        ("contact.fit.rules[0].value", "must be at most 200 characters long, not 201")
    ]


def test_a_regex_of_200_characters_is_accepted():
    document = example()
    rule = {"attribute": "title", "op": "regex", "value": "a" * 200, "points": 1}
    document["contact"]["fit"]["rules"][0] = rule

    model = parse_document(document)

    assert model.contact.fit_rules[0].condition == Condition("title", "regex", "a" * 200)
