from mqa.templatetags.review_format import hours, percent


def test_rates_read_as_percentages():
    assert [percent(v) for v in (0.1111, 0.5, 1, 0, 0.00049, 0.6585, None)] == [
        "11.1%", "50%", "100%", "0%", "0%", "65.9%", "—",
    ]  # fmt: skip


def test_hours_read_as_human_durations():
    assert [hours(v) for v in (0, 0.0173, 0.5, 1, 3.2, 23.99, 24, 50, None)] == [
        "0 min", "1 min", "30 min", "1 h", "3 h 12 min", "23 h 59 min", "1 d", "2 d 2 h", "—",
    ]  # fmt: skip
