"""The portable regex subset: patterns Python `re` and PostgreSQL read alike (SPEC §3).

Allowed: literals, `.`, `[...]` classes, `^ $`, `* + ? {m,n}`, `|`, `( )`, `\\d \\s \\w` and
escaped metacharacters. Refused: other escapes (`\\b`, back-references), `(?...)` groups
(look-around, named groups, inline flags), lazy or possessive quantifiers, and patterns longer
than 200 characters.

User patterns are matched with RE2, an automaton engine, never with the backtracking `re`: a
pattern such as `(\\w+\\s?)+manager` then takes time linear in the value, not exponential
(SPEC §3). `compiled` is the one place a user pattern becomes a matcher; google-re2 ships no
type information, so it is wrapped here in a small typed class.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN_LENGTH = 200

METACHARACTERS = set(".^$*+?{}[]()|\\/-")
CLASS_ESCAPES = set("dsw")
_BRACES = re.compile(r"\{(\d+)(,(\d*))?\}")


def portable_regex_error(pattern: str) -> str | None:
    """None when `pattern` is in the portable subset, else what is wrong with it."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"must be at most {MAX_PATTERN_LENGTH} characters long, not {len(pattern)}"
    i, n = 0, len(pattern)
    quantifiable = False
    depth = 0
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                return "must not end with a backslash"
            nxt = pattern[i + 1]
            if nxt not in CLASS_ESCAPES and nxt not in METACHARACTERS:
                return (
                    f"escape \\{nxt} is not portable; use \\d, \\s, \\w or escape a metacharacter"
                )
            i, quantifiable = i + 2, True
        elif ch == "[":
            end = _class_end(pattern, i)
            if end is None:
                return "has an unclosed [ class"
            j = i + 1
            while j < end:
                if pattern[j] == "\\":
                    if pattern[j + 1] not in CLASS_ESCAPES | METACHARACTERS:
                        return f"escape \\{pattern[j + 1]} is not portable"
                    j += 2  # the escaped character is a literal, not the start of anything
                    continue
                if pattern[j : j + 2] in ("[:", "[=", "[."):
                    return "POSIX bracket expressions are not portable"
                j += 1
            i, quantifiable = end + 1, True
        elif ch == "(":
            if pattern[i + 1 : i + 2] == "?":
                return "(?...) groups (look-around, named groups, inline flags) are not portable"
            depth += 1
            i, quantifiable = i + 1, False
        elif ch == ")":
            if depth == 0:
                return "has an unbalanced )"
            depth -= 1
            i, quantifiable = i + 1, True
        elif ch in "*+?{":
            if not quantifiable:
                return f"quantifier {ch} must follow something to repeat"
            if ch == "{":
                match = _BRACES.match(pattern, i)
                if not match:
                    return "{ must be a quantifier {m}, {m,} or {m,n}; escape it as \\{"
                low, high = match.group(1), match.group(3)
                if high and int(high) < int(low):
                    return "{m,n} needs m <= n"
                if int(low) > 255 or (high and int(high) > 255):
                    return "{m,n} bounds above 255 are not portable"
                i = match.end()
            else:
                i += 1
            quantifiable = False
        elif ch in "|^$":
            i, quantifiable = i + 1, False
        else:
            i, quantifiable = i + 1, True
    if depth:
        return "has an unclosed ("
    try:
        compiled(pattern)
    except RegexError as error:
        return f"is not a valid pattern: {error}"
    return None


class RegexError(ValueError):
    """RE2 could not compile a pattern (invalid, or its automaton would be too large)."""


class Regex:
    """A compiled user pattern: case-insensitive, `.` matching a newline as in PostgreSQL."""

    __slots__ = ("_compiled",)

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    def search(self, text: str) -> bool:
        return self._compiled.search(text) is not None


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> Regex:
    """The RE2 matcher of `pattern`; raises `RegexError` when RE2 cannot compile it."""
    options = re2.Options()
    options.case_sensitive = False
    options.dot_nl = True  # in PostgreSQL's regexes `.` matches a newline too
    options.log_errors = False  # the caller reports the error; RE2 would also print it
    try:
        return Regex(re2.compile(pattern, options))
    except re2.error as error:
        detail = error.args[0] if error.args else ""
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        raise RegexError(text) from None


def _class_end(pattern: str, start: int) -> int | None:
    i = start + 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    return None
