"""SPEC §2 "Normalisation": account domains, emails, type names and buying roles."""

import pytest

from mqa.scoring.normalize import (
    email_domain,
    normalize_domain,
    normalize_email,
    normalize_role,
    normalize_type,
    parent_domains,
)


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("acme.com", "acme.com"),
        ("  Acme.COM  ", "acme.com"),
        # a scheme://
        ("https://acme.com", "acme.com"),
        ("HTTP://acme.com", "acme.com"),
        ("ftp://acme.com", "acme.com"),
        # any user@
        ("jo@acme.com", "acme.com"),
        ("https://jo:secret@acme.com", "acme.com"),
        # everything from the first /, ? or #
        ("acme.com/pricing", "acme.com"),
        ("acme.com?utm=1", "acme.com"),
        ("acme.com#team", "acme.com"),
        ("acme.com/a?b=c#d", "acme.com"),
        ("acme.com?next=/x", "acme.com"),
        # a :port
        ("acme.com:8080", "acme.com"),
        ("acme.com:", "acme.com"),
        ("acme.com:443/x", "acme.com"),
        # trailing dots
        ("acme.com.", "acme.com"),
        ("acme.com..", "acme.com"),
        # then one leading www.
        ("www.acme.com", "acme.com"),
        ("WWW.acme.com", "acme.com"),
        ("www.www.acme.com", "www.acme.com"),
        ("www.acme.com.", "acme.com"),
        ("wwwacme.com", "wwwacme.com"),
        ("eu.www.acme.com", "eu.www.acme.com"),
        # every step at once
        ("  HTTPS://user:pw@WWW.Acme.com.:443/x?y=1#z ", "acme.com"),
        # subdomains are kept
        ("https://eu.acme.com/", "eu.acme.com"),
    ],
)
def test_domains_are_normalised(raw, domain):
    assert normalize_domain(raw) == domain


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "https://", "https:///path", "/pricing", "?x", "#x", "jo@", ":8080", ".."],
)
def test_a_domain_that_normalises_to_nothing_is_invalid(raw):
    assert normalize_domain(raw) is None


def test_www_alone_is_not_stripped_because_trailing_dots_go_first():
    # trailing dots are removed before the leading `www.`, so `www.` becomes `www`
    assert normalize_domain("www.") == "www"


@pytest.mark.parametrize(
    ("raw", "email"),
    [
        ("jo@acme.com", "jo@acme.com"),
        ("  Jo.Smith@ACME.com \n", "jo.smith@acme.com"),
        ('"a@b"@acme.com', '"a@b"@acme.com'),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw, email):
    assert normalize_email(raw) == email


@pytest.mark.parametrize("raw", ["", "   ", "jo.acme.com", "jo@", "@acme.com"])
def test_an_email_needs_something_on_both_sides_of_an_at(raw):
    assert normalize_email(raw) is None


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("jo@acme.com", "acme.com"),
        ("jo@eu.acme.com", "eu.acme.com"),
        ('"a@b"@acme.com', "acme.com"),
    ],
)
def test_an_email_domain_is_the_part_after_the_last_at(email, domain):
    assert email_domain(email) == domain


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("page_view", "page_view"),
        ("  Page_View ", "page_view"),
        ("DEMO-REQUEST", "demo-request"),
        ("g2.intent", "g2.intent"),
        ("0", "0"),
    ],
)
def test_type_names_are_trimmed_and_lower_cased(raw, name):
    assert normalize_type(raw) == name


@pytest.mark.parametrize("raw", ["", "   ", "page view", "page/view", "pagé", "a:b", "page\tview"])
def test_a_type_name_outside_the_allowed_characters_is_invalid(raw):
    assert normalize_type(raw) is None


@pytest.mark.parametrize(
    ("raw", "role"),
    [
        ("champion", "champion"),
        ("  Decision_Maker ", "decision_maker"),
        ("Head of IT", "head of it"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_buying_roles_are_trimmed_and_lower_cased_and_empty_is_null(raw, role):
    assert normalize_role(raw) == role


def test_parent_domains_are_taken_on_label_boundaries():
    assert parent_domains("eu.acme.com") == ["eu.acme.com", "acme.com", "com"]
    assert "acme.com" not in parent_domains("notacme.com")
