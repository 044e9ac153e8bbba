"""Cell transforms of the CSV mapping: country names to ISO 3166 alpha-2 codes. Pure: no Django.

`country_code` accepts what pycountry's lookup accepts (alpha-2, alpha-3, numeric, the name,
the official and the common name, ignoring case) and a few names people write that ISO does
not list; anything else is `None`, which the mapping reports as a row error.
"""

from __future__ import annotations

from functools import cache

import pycountry

# Everyday names that pycountry's lookup does not know, checked before it (lower case).
ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "russia": "RU",
    "turkey": "TR",
    "ivory coast": "CI",
    "macedonia": "MK",
    "swaziland": "SZ",
    "burma": "MM",
    "east timor": "TL",
    "cape verde": "CV",
}
TRANSFORMS = ("country",)


@cache
def country_code(text: str) -> str | None:
    """The ISO 3166 alpha-2 code of a country name or code, or None if it names no country."""
    key = text.strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    try:
        return str(pycountry.countries.lookup(key).alpha_2)
    except LookupError:
        return None
