from __future__ import annotations

import pytest

from accounts.models import Account
from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.services import contacts_upsert
from mqa.models import PendingWork

pytestmark = pytest.mark.django_db


def linked(email: str) -> str | None:
    contact = Contact.objects.select_related("account").get(email=email)
    return contact.account.domain if contact.account else None


def test_a_contact_links_to_its_email_domain_or_longest_parent_on_a_label_boundary():
    accounts_upsert(
        items=[{"domain": "acme.com"}, {"domain": "eu.acme.com"}, {"domain": "notacme.com"}]
    )

    contacts_upsert(
        items=[
            {"email": "jo@eu.acme.com"},
            {"email": "al@sales.eu.acme.com"},
            {"email": "bo@us.acme.com"},
            {"email": "cy@acme.com.evil.io"},
            {"email": "di@notacme.com"},
        ]
    )

    assert linked("jo@eu.acme.com") == "eu.acme.com"
    assert linked("al@sales.eu.acme.com") == "eu.acme.com"
    assert linked("bo@us.acme.com") == "acme.com"
    assert linked("cy@acme.com.evil.io") is None
    assert linked("di@notacme.com") == "notacme.com"


def test_free_mail_never_links_by_email_even_on_a_subdomain():
    accounts_upsert(items=[{"domain": "gmail.com"}, {"domain": "yahoo.co.uk"}])

    contacts_upsert(items=[{"email": "jo@gmail.com"}, {"email": "al@mail.yahoo.co.uk"}])

    assert linked("jo@gmail.com") is None
    assert linked("al@mail.yahoo.co.uk") is None


def test_a_hint_links_only_to_that_account_without_falling_back_to_the_email():
    accounts_upsert(items=[{"domain": "acme.com"}])

    contacts_upsert(items=[{"email": "jo@acme.com", "account_domain": "https://www.Globex.com/"}])

    contact = Contact.objects.get()
    assert (contact.account_domain, contact.account_id) == ("globex.com", None)


def test_a_hint_links_a_free_mail_contact():
    accounts_upsert(items=[{"domain": "globex.com"}])

    contacts_upsert(items=[{"email": "jo@gmail.com", "account_domain": "globex.com"}])

    assert linked("jo@gmail.com") == "globex.com"


def test_contacts_link_as_soon_as_their_account_arrives():
    contacts_upsert(
        items=[
            {"email": "jo@eu.acme.com"},
            {"email": "al@gmail.com", "account_domain": "acme.com"},
            {"email": "bo@gmail.com"},
        ]
    )
    assert linked("jo@eu.acme.com") is None

    accounts_upsert(items=[{"domain": "acme.com"}])
    assert (linked("jo@eu.acme.com"), linked("al@gmail.com"), linked("bo@gmail.com")) == (
        "acme.com",
        "acme.com",
        None,
    )

    accounts_upsert(items=[{"domain": "eu.acme.com"}])
    assert (linked("jo@eu.acme.com"), linked("al@gmail.com")) == ("eu.acme.com", "acme.com")


def test_a_link_change_marks_the_contact_and_both_accounts_stale():
    accounts_upsert(items=[{"domain": "acme.com"}, {"domain": "globex.com"}])
    contacts_upsert(items=[{"email": "jo@acme.com"}])
    PendingWork.objects.all().delete()

    contacts_upsert(items=[{"email": "jo@acme.com", "account_domain": "globex.com"}])

    contact = Contact.objects.get()
    acme, globex = Account.objects.get(domain="acme.com"), Account.objects.get(domain="globex.com")
    assert contact.account_id == globex.id
    assert set(PendingWork.objects.values_list("kind", "object_id")) == {
        ("contact", contact.id),
        ("account", acme.id),
        ("account", globex.id),
    }
