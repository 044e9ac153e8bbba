"""SPEC §3 "Operators": every operator, the missing-value rule and cross-type comparisons."""

import pytest

from mqa.scoring.operators import MISSING, OPERATORS, evaluate

# An expected value per operator for which a present, matching-looking value would pass, so
# that a `False` on a missing value can only come from the missing-value rule.
EXPECTED_BY_OP = {
    "eq": "",
    "neq": "x",
    "in": ("", "x"),
    "not_in": ("x",),
    "contains": "",
    "not_contains": "x",
    "starts_with": "",
    "ends_with": "",
    "regex": ".*",
    "gt": -1,
    "gte": -1,
    "lt": 1,
    "lte": 1,
    "between": (-1, 1),
    "is_set": None,
}

MISSING_VALUES = [
    pytest.param(MISSING, id="absent"),
    pytest.param(None, id="null"),
    pytest.param("", id="empty-string"),
    pytest.param("   ", id="spaces"),
    pytest.param(" \t\n ", id="whitespace"),
]

PRESENT_FALSY_VALUES = [
    pytest.param(0, id="zero"),
    pytest.param(0.0, id="zero-float"),
    pytest.param(False, id="false"),
    pytest.param([], id="empty-list"),
    pytest.param({}, id="empty-object"),
    pytest.param("0", id="string-zero"),
]


def test_the_operator_table_covers_every_operator_but_is_not_set():
    # given the operators the engine knows
    # then the missing-value table below exercises each of them
    assert set(EXPECTED_BY_OP) | {"is_not_set"} == set(OPERATORS)


@pytest.mark.parametrize("actual", MISSING_VALUES)
@pytest.mark.parametrize("op", sorted(EXPECTED_BY_OP))
def test_a_missing_value_satisfies_no_operator_but_is_not_set(op, actual):
    assert evaluate(op, actual, EXPECTED_BY_OP[op]) is False


@pytest.mark.parametrize("actual", MISSING_VALUES)
def test_a_missing_value_satisfies_is_not_set(actual):
    assert evaluate("is_not_set", actual, None) is True


@pytest.mark.parametrize("actual", MISSING_VALUES)
def test_neq_is_false_for_a_missing_value(actual):
    assert evaluate("neq", actual, "anything") is False


@pytest.mark.parametrize("actual", MISSING_VALUES)
def test_not_in_is_false_for_a_missing_value(actual):
    assert evaluate("not_in", actual, ("anything", 1, True)) is False


@pytest.mark.parametrize("actual", PRESENT_FALSY_VALUES)
def test_zero_false_and_empty_containers_are_set(actual):
    assert evaluate("is_set", actual, None) is True
    assert evaluate("is_not_set", actual, None) is False


@pytest.mark.parametrize(
    "actual",
    [pytest.param("x", id="string"), pytest.param(" x ", id="padded"), pytest.param(7, id="int")],
)
def test_a_present_value_is_set(actual):
    assert evaluate("is_set", actual, None) is True
    assert evaluate("is_not_set", actual, None) is False


@pytest.mark.parametrize(
    ("op", "actual", "expected", "result"),
    [
        # strings: trimmed and lower-cased on both sides
        ("eq", "Acme", "acme", True),
        ("eq", "  ACME  ", " acme", True),
        ("eq", "acme", "acme inc", False),
        ("neq", "Acme", "ACME", False),
        ("neq", "acme", "globex", True),
        # numbers numerically
        ("eq", 200, 200.0, True),
        ("eq", 200.0, 200, True),
        ("eq", 200, 201, False),
        ("neq", 200, 200.0, False),
        # different types are unequal, so neq is true across types
        ("eq", "250", 250, False),
        ("eq", 250, "250", False),
        ("neq", "250", 250, True),
        ("eq", 1, True, False),
        ("eq", True, 1, False),
        ("eq", 0, False, False),
        ("eq", 1.0, True, False),
        ("neq", 1, True, True),
        ("neq", False, 0, True),
        ("eq", "true", True, False),
        ("eq", [], "x", False),
        ("neq", [], "x", True),
        ("neq", {}, 0, True),
        # booleans only with booleans
        ("eq", True, True, True),
        ("eq", False, False, True),
        ("eq", True, False, False),
        ("neq", False, True, True),
        # in / not_in use the same comparison per element
        ("in", "VP", ("c_level", "vp", "director"), True),
        ("in", " director ", ("c_level", "vp", "Director"), True),
        ("in", "manager", ("c_level", "vp"), False),
        ("in", 250, (250.0,), True),
        ("in", 250, ("250",), False),
        ("in", "250", (250,), False),
        ("in", True, (1,), False),
        ("in", 1, (True,), False),
        ("in", False, (False,), True),
        ("in", "x", (), False),
        ("not_in", "x", (), True),
        ("not_in", "VP", ("vp",), False),
        ("not_in", "manager", ("vp",), True),
        ("not_in", "250", (250,), True),
        ("not_in", 1, (True,), True),
        ("not_in", 200, (200.0,), False),
    ],
)
def test_equality_operators(op, actual, expected, result):
    assert evaluate(op, actual, expected) is result


@pytest.mark.parametrize(
    ("op", "actual", "expected", "result"),
    [
        ("contains", " Visit /PRICING page ", "/pricing", True),
        ("contains", "abc", "B", True),
        ("contains", "a b c", " B ", True),
        ("contains", "abc", "z", False),
        ("not_contains", "abc", "z", True),
        ("not_contains", "abc", "B", False),
        ("starts_with", "  Hello world", "HE", True),
        ("starts_with", "hello", "lo", False),
        ("ends_with", "Hello  ", "LO", True),
        ("ends_with", "hello", "he", False),
        # not a string: both contains and not_contains are false
        ("contains", 123, "1", False),
        ("not_contains", 123, "9", False),
        ("contains", ["a"], "a", False),
        ("not_contains", ["a"], "b", False),
        ("contains", True, "t", False),
        ("not_contains", True, "x", False),
        ("not_contains", {"a": 1}, "b", False),
        ("starts_with", 12, "1", False),
        ("ends_with", 12, "2", False),
    ],
)
def test_string_operators(op, actual, expected, result):
    assert evaluate(op, actual, expected) is result


@pytest.mark.parametrize(
    ("actual", "pattern", "result"),
    [
        ("Acme Corp", "^acme", True),
        ("ACME", "^[a-z]+$", True),
        ("  acme", "^acme", True),
        ("acme  ", "acme$", True),
        ("the acme co", "acme", True),
        ("acme", "^cme", False),
        ("order-1234", r"\d{4}$", True),
        ("order-123", r"\d{4}$", False),
        ("vp sales", "^(vp|director) ", True),
        (123, "1", False),
        (True, "true", False),
        (["acme"], "acme", False),
    ],
)
def test_regex_is_a_case_insensitive_search_on_the_trimmed_string(actual, pattern, result):
    assert evaluate("regex", actual, pattern) is result


@pytest.mark.parametrize(
    ("op", "actual", "expected", "result"),
    [
        ("gt", 5, 4, True),
        ("gt", 4, 4, False),
        ("gt", 4.5, 4, True),
        ("gte", 4, 4, True),
        ("gte", 4.0, 4, True),
        ("gte", 3.9, 4, False),
        ("lt", 3, 4, True),
        ("lt", 4, 4, False),
        ("lte", 4, 4, True),
        ("lte", 4.1, 4, False),
        ("lt", -1, 0, True),
        # numbers only: strings, booleans and containers are false
        ("gt", "5", 4, False),
        ("lt", "3", 4, False),
        ("gte", True, 0, False),
        ("lte", False, 1, False),
        ("gt", [5], 4, False),
        ("lt", {}, 4, False),
    ],
)
def test_comparison_operators_compare_numbers_only(op, actual, expected, result):
    assert evaluate(op, actual, expected) is result


@pytest.mark.parametrize(
    ("actual", "result"),
    [
        (200, True),
        (5000, True),
        (200.0, True),
        (1234.5, True),
        (199, False),
        (199.99, False),
        (5001, False),
        (5000.01, False),
        ("300", False),
        (True, False),
        ([300], False),
    ],
)
def test_between_is_inclusive_and_numbers_only(actual, result):
    assert evaluate("between", actual, (200, 5000)) is result


def test_between_with_equal_bounds_matches_that_number():
    assert evaluate("between", 5, (5, 5)) is True
    assert evaluate("between", 5.0001, (5, 5)) is False


def test_a_boolean_is_not_between_zero_and_one():
    assert evaluate("between", True, (0, 1)) is False
    assert evaluate("between", False, (0, 1)) is False


def test_regex_dot_matches_a_newline_as_in_postgresql():
    assert evaluate("regex", "first\nsecond", "first.second") is True


def test_trimming_is_ascii_whitespace_the_same_set_postgresql_is_given():
    assert evaluate("eq", "\t vp \n", "VP") is True
    assert evaluate("is_not_set", " \r\n ", None) is True


def test_a_nested_quantifier_takes_linear_time_on_a_title_that_does_not_match():
    # SPEC §3: RE2, not a backtracking engine; with `re` this search does not finish in 60 s.
    title = "Senior Regional Sales and Marketing Directo"
    assert len(title) == 43

    assert evaluate("regex", title, r"(\w+\s?)+manager") is False
    assert evaluate("regex", title + "r manager", r"(\w+\s?)+manager") is True
