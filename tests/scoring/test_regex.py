"""SPEC §3 `regex`: only the subset that Python `re` and PostgreSQL read alike is accepted."""

import re

import pytest

from mqa.scoring.regex import portable_regex_error

ACCEPTED = [
    pytest.param("pricing", id="literal"),
    pytest.param("a.c", id="dot"),
    pytest.param("^vp$", id="anchors"),
    pytest.param("[a-z0-9_]+", id="class"),
    pytest.param("[^0-9]", id="negated-class"),
    pytest.param("[]a]", id="class-with-leading-bracket"),
    pytest.param(r"[\d.]+", id="class-with-escape"),
    pytest.param(r"[\\b]", id="class-with-escaped-backslash-then-b"),
    pytest.param(r"[\[:]", id="class-with-escaped-bracket-then-colon"),
    pytest.param("vp|svp|evp", id="alternation"),
    pytest.param("^(vp|director) of (sales|marketing)$", id="groups"),
    pytest.param("a*b+c?", id="star-plus-question"),
    pytest.param("x{3}", id="exact-repeat"),
    pytest.param("x{2,}", id="open-repeat"),
    pytest.param("x{2,5}", id="bounded-repeat"),
    pytest.param("(ab){1,255}", id="repeat-255"),
    pytest.param(r"\d\s\w", id="class-escapes"),
    pytest.param(r"\.\*\+\?\(\)\[\]\{\}\|\^\$\\", id="escaped-metacharacters"),
    pytest.param(r"\/pricing\/", id="escaped-slash"),
    pytest.param(r"^/pricing(/.*)?$", id="url-path"),
    pytest.param("}", id="lone-closing-brace"),
]

REFUSED = [
    pytest.param(r"\bvp\b", id="word-boundary"),
    pytest.param(r"\Bvp", id="non-word-boundary"),
    pytest.param(r"\D", id="negated-digit-class"),
    pytest.param(r"\A", id="python-start-anchor"),
    pytest.param(r"\Z", id="python-end-anchor"),
    pytest.param(r"\n", id="newline-escape"),
    pytest.param(r"\x41", id="hex-escape"),
    pytest.param(r"(a)\1", id="back-reference"),
    pytest.param(r"[\b]", id="word-boundary-in-class"),
    pytest.param("vp(?=sales)", id="look-ahead"),
    pytest.param("vp(?!sales)", id="negative-look-ahead"),
    pytest.param("(?<=vp)sales", id="look-behind"),
    pytest.param("(?<!vp)sales", id="negative-look-behind"),
    pytest.param("(?P<title>vp)", id="named-group"),
    pytest.param("(?P=title)", id="named-back-reference"),
    pytest.param("(?i)vp", id="inline-flag"),
    pytest.param("(?:vp|svp)", id="non-capturing-group"),
    pytest.param("a*?", id="lazy-star"),
    pytest.param("a+?", id="lazy-plus"),
    pytest.param("a??", id="lazy-question"),
    pytest.param("a{2,3}?", id="lazy-repeat"),
    pytest.param("a*+", id="possessive"),
    pytest.param("*a", id="nothing-to-repeat"),
    pytest.param("^*", id="repeat-an-anchor"),
    pytest.param("a|+", id="repeat-after-alternation"),
    pytest.param("a{,3}", id="repeat-without-minimum"),
    pytest.param("a{3,2}", id="repeat-reversed"),
    pytest.param("a{256}", id="repeat-above-255"),
    pytest.param("a{", id="lone-opening-brace"),
    pytest.param("[[:alpha:]]", id="posix-class"),
    pytest.param("[a-z", id="unclosed-class"),
    pytest.param("(ab", id="unclosed-group"),
    pytest.param("ab)", id="unbalanced-group"),
    pytest.param("ab\\", id="trailing-backslash"),
    pytest.param("[z-a]", id="invalid-range"),
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_a_portable_pattern_is_accepted(pattern):
    assert portable_regex_error(pattern) is None
    re.compile(pattern)


@pytest.mark.parametrize("pattern", REFUSED)
def test_a_non_portable_pattern_is_refused_with_a_reason(pattern):
    problem = portable_regex_error(pattern)
    assert isinstance(problem, str)
    assert problem


def test_the_refusal_says_what_is_not_portable():
    assert portable_regex_error(r"\bvp") == (
        r"escape \b is not portable; use \d, \s, \w or escape a metacharacter"
    )
    assert "(?...)" in portable_regex_error("(?i)vp")


def test_a_pattern_longer_than_200_characters_is_refused():
    assert portable_regex_error("a" * 200) is None
    assert portable_regex_error("a" * 201) == "must be at most 200 characters long, not 201"


def test_a_pattern_whose_automaton_is_too_large_is_refused():
    assert portable_regex_error("((a{255}){255}){255}") == (
        "is not a valid pattern: invalid repetition size: {255}"
    )
