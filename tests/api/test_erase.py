"""`POST /api/v1/contacts/erase` (SPEC §7 *Erasure*) and the `suppressed` counts of the bulk
answers that follow it."""

from __future__ import annotations

import pytest

from contacts.models import Contact, EngagementEvent, ErasureAudit, SuppressedEmail
from contacts.services import contacts_upsert, events_ingest
from tests.factories import event
from tests.problems import is_problem

pytestmark = pytest.mark.django_db

ERASE = "/api/v1/contacts/erase"


def test_erase_answers_how_many_contacts_it_erased(api):
    events_ingest(items=[event("jo@acme.com"), event("al@acme.com")])

    response = api.post(ERASE, {"emails": ["Jo@Acme.com", "nobody@acme.com"]}, format="json")

    assert (response.status_code, response.json()) == (200, {"erased": 1})
    assert list(Contact.objects.values_list("email", flat=True)) == ["al@acme.com"]
    assert EngagementEvent.objects.count() == 1
    assert SuppressedEmail.objects.count() == 2
    assert list(ErasureAudit.objects.values_list("actor", "requested", "erased")) == [
        ("api-key:test", 2, 1)
    ]


def test_erase_needs_the_admin_scope(client_for):
    contacts_upsert(items=[{"email": "jo@acme.com"}])

    response = client_for("read", "ingest", "feedback").post(
        ERASE, {"emails": ["jo@acme.com"]}, format="json"
    )

    assert is_problem(response, 403)
    assert (Contact.objects.count(), SuppressedEmail.objects.count()) == (1, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "emails"),
        ([], "emails"),
        ({"emails": []}, "emails"),
        ({"emails": "jo@acme.com"}, "emails"),
        ({"emails": ["jo@acme.com", 5]}, "emails[1]"),
        ({"emails": ["jo@acme.com", "nope"]}, "emails[1]"),
        ({"emails": [f"p{i}@acme.com" for i in range(1001)]}, "emails"),
        ({"emails": ["jo@acme.com"], "note": "x"}, "note"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_erases_nothing(api, body, field):
    contacts_upsert(items=[{"email": "jo@acme.com"}])

    response = api.post(ERASE, body, format="json")

    assert is_problem(response, 400)
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (Contact.objects.count(), SuppressedEmail.objects.count()) == (1, 0)
    assert ErasureAudit.objects.count() == 0


def test_bulk_answers_count_items_for_erased_addresses_as_suppressed(api):
    api.post(ERASE, {"emails": ["jo@acme.com"]}, format="json")

    contacts = api.post(
        "/api/v1/contacts/bulk",
        {"items": [{"email": "jo@acme.com"}, {"email": "al@acme.com"}]},
        format="json",
    )
    events = api.post(
        "/api/v1/events/bulk",
        {"items": [event("JO@acme.com"), event("al@acme.com")]},
        format="json",
    )

    assert (contacts.status_code, contacts.json()) == (
        200,
        {"created": 1, "updated": 0, "suppressed": 1},
    )
    assert (events.status_code, events.json()) == (
        202,
        {"accepted": 1, "duplicates": 0, "conflicts": [], "suppressed": 1},
    )
    assert list(Contact.objects.values_list("email", flat=True)) == ["al@acme.com"]
    assert list(EngagementEvent.objects.values_list("contact__email", flat=True)) == ["al@acme.com"]
