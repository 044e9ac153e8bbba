"""Erasure of contacts and suppression of their addresses (SPEC §7 *Erasure*)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from accounts.services import accounts_upsert
from contacts.erasure import contacts_erase
from contacts.models import Contact, EngagementEvent, ErasureAudit, SuppressedEmail
from contacts.services import contacts_upsert, events_ingest
from mqa.batch import Invalid
from mqa.models import (
    AccountScore,
    AccountStatusChange,
    ContactScore,
    ContactStatusChange,
    Handoff,
    PendingWork,
    WebhookDelivery,
)
from mqa.services.handoffs import handoff_reject
from mqa.services.pipeline import pipeline_process
from mqa.services.routing import routing_document_put
from tests.factories import event, mql_events, webhook_subscription

pytestmark = pytest.mark.django_db

ROUTING = {
    "format": "mqa.routing/v1",
    "queues": [{"name": "inbound", "members": [{"assignee": "a@v.io"}]}],
    "rules": [],
    "default_queue": "inbound",
}
CEO, VP = "ceo@acme.com", "vp@acme.com"


@pytest.fixture
def qualified(active_model):
    """Two MQL contacts of a non-target account, each handed off; subscribers not yet told."""
    routing_document_put(document=ROUTING)
    webhook_subscription(
        url="https://hooks.example/mqa", event_types=["contact.status_changed", "handoff.updated"]
    )
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 500}])
    contacts_upsert(
        items=[
            {
                "email": CEO,
                "first_name": "Jo",
                "seniority": "c_level",
                "buying_role": "decision_maker",
            },
            {"email": VP, "seniority": "vp", "buying_role": "champion"},
        ]
    )
    events_ingest(items=mql_events(CEO) + mql_events(VP))
    pipeline_process()
    ceo_handoff = Handoff.objects.get(contact__email=CEO)
    handoff_reject(handoff_id=ceo_handoff.id, reason="timing", note=f"Jo <{CEO}> asked for Q3")
    return Contact.objects.get(email=CEO)


def undelivered_text() -> str:
    return json.dumps(list(WebhookDelivery.objects.values_list("payload", flat=True))).lower()


def test_erasure_deletes_the_contact_its_data_and_its_traces(qualified):
    ceo = qualified
    account = AccountScore.objects.get(account__domain="acme.com")
    assert (account.engagement, account.engaged_contacts, account.mql_contacts) == (245.0, 2, 2)
    assert CEO in undelivered_text()
    assert CEO in json.dumps(list(AccountStatusChange.objects.values_list("explanation")))

    result = contacts_erase(emails=[" CEO@Acme.com "], actor="api-key:dpo")

    assert result.as_dict() == {"erased": 1}
    assert Contact.objects.filter(email=CEO).count() == 0
    assert EngagementEvent.objects.filter(contact_id=ceo.id).count() == 0
    assert ContactScore.objects.filter(contact_id=ceo.id).count() == 0
    assert ContactStatusChange.objects.filter(contact_id=ceo.id).count() == 0
    handoff = Handoff.objects.get(kind="lead", status="rejected")
    assert (handoff.contact_id, handoff.note, handoff.reason) == (None, "", "timing")
    assert CEO not in undelivered_text()
    payloads = [
        d.payload["data"] for d in WebhookDelivery.objects.filter(status="pending").order_by("id")
    ]
    assert [(p.get("email"), p.get("contact_email")) for p in payloads] == [
        (None, None),
        (VP, None),
        (None, None),
    ]
    assert CEO not in json.dumps(list(AccountStatusChange.objects.values_list("explanation")))
    assert CEO not in json.dumps(AccountScore.objects.get(account__domain="acme.com").breakdown)
    # The other contact is untouched.
    assert EngagementEvent.objects.filter(contact__email=VP).count() == 4
    assert ContactScore.objects.get(contact__email=VP).status == "mql"

    pipeline_process()

    account = AccountScore.objects.get(account__domain="acme.com")
    assert (account.engagement, account.engaged_contacts, account.mql_contacts) == (105.0, 1, 1)
    assert [c["email"] for c in account.breakdown["contacts"]] == [VP]
    assert PendingWork.objects.count() == 0


def test_erasure_is_audited_without_the_address_and_suppresses_only_a_keyed_hash(qualified):
    contacts_erase(emails=[CEO, "nobody@acme.com"], actor="api-key:dpo")

    audit = ErasureAudit.objects.get()
    assert (audit.actor, audit.requested, audit.erased) == ("api-key:dpo", 2, 1)
    row = json.dumps(list(ErasureAudit.objects.values()), default=str).lower()
    assert "ceo" not in row and "nobody" not in row and "acme" not in row
    expected = {
        hmac.new(settings.SECRET_KEY.encode(), email.encode(), hashlib.sha256).hexdigest()
        for email in (CEO, "nobody@acme.com")
    }
    assert set(SuppressedEmail.objects.values_list("digest", flat=True)) == expected
    assert not any("@" in d or "ceo" in d for d in expected)


def test_later_items_for_an_erased_address_are_suppressed_not_stored(qualified):
    contacts_erase(emails=[CEO], actor="test")
    events_before = EngagementEvent.objects.count()

    upserted = contacts_upsert(items=[{"email": "Ceo@acme.com", "title": "CEO"}, {"email": VP}])
    ingested = events_ingest(
        items=[event(CEO), event(CEO), event("new@acme.com"), event(VP, id="x1")]
    )

    assert upserted.as_dict() == {"created": 0, "updated": 1, "suppressed": 1}
    assert ingested.as_dict() == {
        "accepted": 2,
        "duplicates": 0,
        "conflicts": [],
        "suppressed": 2,
    }
    assert Contact.objects.filter(email=CEO).count() == 0
    assert Contact.objects.filter(email="new@acme.com").count() == 1
    assert EngagementEvent.objects.count() == events_before + 2


def test_conflicts_name_the_item_of_the_request_when_some_were_suppressed(db):
    events_ingest(items=[event("jo@acme.com", id="e1")])
    contacts_erase(emails=["gone@acme.com"], actor="test")

    result = events_ingest(
        items=[event("gone@acme.com", id="e9"), event("jo@acme.com", "webinar", id="e1")]
    )

    assert result.as_dict() == {
        "accepted": 0,
        "duplicates": 0,
        "conflicts": [{"index": 1, "id": "e1"}],
        "suppressed": 1,
    }


def test_erasing_a_contact_with_pending_work_leaves_the_pipeline_clean(active_model):
    events_ingest(items=mql_events("jo@acme.com"))
    assert PendingWork.objects.filter(kind="contact").count() == 1

    assert contacts_erase(emails=["jo@acme.com"], actor="test").erased == 1
    pipeline_process()

    assert PendingWork.objects.count() == 0
    assert (Contact.objects.count(), ContactStatusChange.objects.count()) == (0, 0)


def test_an_invalid_address_erases_nothing(db):
    contacts_upsert(items=[{"email": "jo@acme.com"}])

    with pytest.raises(Invalid) as raised:
        contacts_erase(emails=["jo@acme.com", "not-an-email"], actor="test")

    assert raised.value.field == "emails[1]"
    assert (Contact.objects.count(), SuppressedEmail.objects.count()) == (1, 0)
    assert ErasureAudit.objects.count() == 0


def test_the_admin_action_erases_and_suppresses(admin_client):
    contacts_upsert(items=[{"email": "jo@acme.com"}, {"email": "al@acme.com"}])
    jo = Contact.objects.get(email="jo@acme.com")

    response = admin_client.post(
        "/admin/contacts/contact/", {"action": "erase", "_selected_action": [jo.pk]}
    )

    assert response.status_code == 302
    assert list(Contact.objects.values_list("email", flat=True)) == ["al@acme.com"]
    assert list(ErasureAudit.objects.values_list("actor", "requested", "erased")) == [
        ("admin:admin", 1, 1)
    ]
    assert contacts_upsert(items=[{"email": "jo@acme.com"}]).suppressed == 1


def test_the_admin_action_is_offered_to_superusers_only(client, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="x" * 16, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename="view_contact"))
    client.force_login(staff)
    contacts_upsert(items=[{"email": "jo@acme.com"}])

    client.post(
        "/admin/contacts/contact/",
        {"action": "erase", "_selected_action": [Contact.objects.get().pk]},
    )

    assert Contact.objects.count() == 1
    assert SuppressedEmail.objects.count() == 0


def test_the_command_erases_from_arguments_and_a_file(tmp_path):
    contacts_upsert(items=[{"email": f"{name}@acme.com"} for name in ("jo", "al", "kim")])
    listing = tmp_path / "erase.txt"
    listing.write_text("AL@acme.com\n\nnobody@acme.com\n", encoding="utf-8")
    out = io.StringIO()

    call_command(
        "erase_contacts", "jo@acme.com", "--file", str(listing), "--actor", "dpo", stdout=out
    )

    assert out.getvalue() == "erased 2 contact(s); 3 address(es) suppressed\n"
    assert list(Contact.objects.values_list("email", flat=True)) == ["kim@acme.com"]
    assert list(ErasureAudit.objects.values_list("actor", "requested", "erased")) == [("dpo", 3, 2)]
    assert SuppressedEmail.objects.count() == 3


def test_the_command_refuses_a_bad_address_and_erases_nothing(db):
    contacts_upsert(items=[{"email": "jo@acme.com"}])

    with pytest.raises(CommandError, match="address 2: is not a valid email address"):
        call_command("erase_contacts", "jo@acme.com", "nope")

    assert (Contact.objects.count(), SuppressedEmail.objects.count()) == (1, 0)
