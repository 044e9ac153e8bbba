"""The portable regex subset: patterns Python `re` and PostgreSQL read alike (SPEC §3).

Allowed: literals, `.`, `[...]` classes, `^ $`, `* + ? {m,n}`, `|`, `( )`, `\\d \\s \\w` and
escaped metacharacters. Refused: other escapes (`\\b`, back-references), `(?...)` groups
(look-around, named groups, inline flags) and lazy or possessive quantifiers.
"""

from __future__ import annotations

import re

METACHARACTERS = set(".^$*+?{}[]()|\\/-")
CLASS_ESCAPES = set("dsw")
_BRACES = re.compile(r"\{(\d+)(,(\d*))?\}")


def portable_regex_error(pattern: str) -> str | None:
    """None when `pattern` is in the portable subset, else what is wrong with it."""
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
        re.compile(pattern)
    except re.error as error:
        return f"is not a valid pattern: {error}"
    return None


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
