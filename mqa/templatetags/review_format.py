"""How the review pages write numbers: rates as percentages, hours as human durations."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

from mqa.review.display import criterion_label, event_colour, event_label

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.1111 → "11.1%", 0.5 → "50%"; None (an empty previous stage) → "—"."""
    if value is None:
        return "—"
    # Half up from the decimal the report wrote (0.6585 → 65.9%), not from its binary float.
    shown = (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{shown}".removesuffix(".0") + "%"


@register.filter
def hours(value: float | None) -> str:
    """0.0173 → "1 min", 3.2 → "3 h 12 min", 50 → "2 d 2 h"; None → "—"."""
    if value is None:
        return "—"
    minutes = round(value * 60)
    if minutes < 60:
        return f"{max(minutes, 1) if value > 0 else 0} min"
    if minutes < 24 * 60:
        h, m = divmod(minutes, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(round(value), 24)
    return f"{d} d {h} h" if h else f"{d} d"


register.filter("event_label", event_label)
register.filter("event_colour", event_colour)
register.filter("criterion_label", criterion_label)


@register.filter
def join_list(value: object) -> str:
    """A `missing` entry's actual or required value: a list of roles reads "a, b" ("none")."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
