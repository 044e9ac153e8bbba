"""Every operator compiled to SQL agrees with `mqa.scoring.operators.evaluate` (PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqa.bulk.conditions import BOOL, JSON, NUMBER, TEXT, Sql, _Conditions
from mqa.scoring.operators import MISSING, OPERATORS, evaluate
from mqa.scoring.types import Condition

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="compiled for PostgreSQL"),
]
TEXTS = st.sampled_from(
    ["vp", " VP ", "director", "", "   ", "Pricing", "/pricing?x", "200", "de", "v", "P"]
)
SCALARS = st.one_of(TEXTS, st.integers(-3, 300), st.sampled_from([200.0, 0.5]), st.booleans())
OPS = list(OPERATORS)


@st.composite
def expected_for(draw: Any, op: str) -> Any:
    if op in ("eq", "neq"):
        return draw(SCALARS)
    if op in ("in", "not_in"):
        return tuple(draw(st.lists(SCALARS, max_size=3)))
    if op in ("contains", "not_contains", "starts_with", "ends_with"):
        return draw(TEXTS)
    if op == "regex":
        return draw(st.sampled_from(["^v", "p$", "ric|dir", "[0-9]+", "^$", "^ *$"]))
    if op == "between":
        lo = draw(st.integers(-5, 250))
        return (lo, lo + draw(st.integers(0, 100)))
    if op in ("is_set", "is_not_set"):
        return None
    return draw(st.sampled_from([0, 1, 199.5, 200, 250]))


def sql_holds(kind: str, actual: Any, condition: Condition) -> bool:
    sql = Sql()
    if kind == JSON:
        expr = "NULL::jsonb" if actual is MISSING else f"{sql.p(json.dumps(actual))}::jsonb"
    else:
        cast = {TEXT: "text", NUMBER: "numeric", BOOL: "boolean"}[kind]
        expr = f"{sql.p(None if actual is MISSING else actual)}::{cast}"
    text = _Conditions(sql).compile(f"({expr})", kind, condition)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {text}", sql.params)
        return bool(cursor.fetchone()[0])


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@given(data=st.data(), op=st.sampled_from(OPS))
def test_json_values_compare_like_the_engine(data, op):
    actual = data.draw(st.one_of(st.just(MISSING), st.none(), SCALARS, st.just([]), st.just({})))
    condition = Condition("x", op, data.draw(expected_for(op)))

    assert sql_holds(JSON, actual, condition) == evaluate(op, actual, condition.value), (
        actual,
        condition,
    )


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@given(data=st.data(), op=st.sampled_from(OPS))
def test_typed_columns_compare_like_the_engine(data, op):
    kind, values = data.draw(
        st.sampled_from([(TEXT, TEXTS), (NUMBER, st.integers(-3, 300)), (BOOL, st.booleans())])
    )
    actual = data.draw(st.one_of(st.just(MISSING), values))
    condition = Condition("x", op, data.draw(expected_for(op)))

    assert sql_holds(kind, actual, condition) == evaluate(op, actual, condition.value), (
        kind,
        actual,
        condition,
    )
