"""Calibration arithmetic (pure, no database): exact lift and the recommendation guardrails."""

from __future__ import annotations

from mqa.reports.calibration import Scored, calibration_summary, curve, wilson_interval

BELOW = "only 29 conversions in the horizon; at least 30 are needed to recommend a threshold"
WIDE = (
    "the conversion rate at {at} (30 of 60) has a 95% interval of 0.377 to 0.623, wider than"
    " 0.2: too uncertain to recommend a threshold"
)


def records(*groups: tuple[float, bool, int]) -> list[Scored]:
    """`count` records of each (score, converted, count); a record's fit is its score."""
    out = []
    for score, converted, count in groups:
        for _ in range(count):
            key = f"r{len(out):03}"
            out.append(Scored(key, score, True, converted, fit=score))
    return out


def summary(population: list[Scored], **kwargs) -> dict:
    floors = {"fit_floor": (20.0, lambda r, f: r.fit >= f, [r.fit for r in population])}
    return calibration_summary(
        population, current=40.0, goal="f1", floors=floors, min_conversions=30, **kwargs
    )


def test_lift_is_the_ratio_of_exact_rates_not_of_rounded_ones():
    # 2 of 3 chosen converted, 3 of 7 overall: (2/3) / (3/7) = 14/9 = 1.55556 — the rounded
    # rates 0.6667 / 0.4286 would give 1.5555.
    population = records((10, True, 2), (1, True, 1), (10, False, 1), (1, False, 3))

    (point,) = curve(population, [10.0], lambda r, t: r.score >= t)

    assert point == {
        "threshold": 10.0, "volume": 3, "converted": 2, "conversion_rate": 0.6667,
        "captured": 0.6667, "lift": 1.5556, "f1": 0.6667,
    }  # fmt: skip


def test_the_wilson_interval_of_a_rate():
    assert wilson_interval(0, 0) is None
    assert [round(x, 4) for x in wilson_interval(30, 60)] == [0.3774, 0.6226]
    assert [round(x, 4) for x in wilson_interval(1, 1)] == [0.2065, 1.0]
    assert [round(x, 4) for x in wilson_interval(0, 10)] == [0.0, 0.2775]


def test_nothing_is_recommended_below_the_minimum_conversions():
    result = summary(records((50, True, 29), (10, False, 171)))

    assert (result["converted"], result["recommended"], result["refused"]) == (29, None, BELOW)
    assert result["recommended_interval"] is None
    floor = result["floors"]["fit_floor"]
    assert (floor["current"], floor["recommended"], floor["refused"]) == (20.0, None, BELOW)


def test_a_threshold_is_recommended_at_the_minimum_conversions():
    result = summary(records((50, True, 30), (10, False, 170)))

    best = {
        "threshold": 40.0, "volume": 30, "converted": 30, "conversion_rate": 1.0,
        "captured": 1.0, "lift": 6.6667, "f1": 1.0,
    }  # fmt: skip
    assert (result["recommended"], result["refused"]) == (best, None)
    assert result["recommended_interval"] == [0.8865, 1.0]
    floor = result["floors"]["fit_floor"]
    assert floor["recommended"] == best | {"threshold": 20.0}
    assert (floor["recommended_interval"], floor["refused"]) == ([0.8865, 1.0], None)


def test_nothing_is_recommended_where_the_rates_interval_is_too_wide():
    # Best F1 selects 60 records of which 30 converted: 0.5, somewhere in 0.377 to 0.623.
    population = records((50, True, 30), (50, False, 30), (10, False, 100))

    result = summary(population)
    lenient = summary(population, max_interval_width=0.25)

    assert (result["recommended"], result["refused"]) == (None, WIDE.format(at=40))
    floor = result["floors"]["fit_floor"]
    assert (floor["recommended"], floor["refused"]) == (None, WIDE.format(at=20))
    assert (lenient["recommended"]["threshold"], lenient["refused"]) == (40.0, None)
    assert lenient["recommended_interval"] == [0.3774, 0.6226]


def test_no_point_reaching_the_goal_is_not_a_refusal():
    result = calibration_summary(
        records((50, True, 30), (10, False, 170)),
        current=40.0,
        goal="rate",
        target_rate=1.0,
        min_conversions=30,
    )
    unreachable = calibration_summary(
        records((50, True, 30), (50, False, 170)),
        current=40.0,
        goal="rate",
        target_rate=1.0,
        min_conversions=30,
    )

    assert result["recommended"]["threshold"] == 40.0
    assert (unreachable["recommended"], unreachable["refused"]) == (None, None)
