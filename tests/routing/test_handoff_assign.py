"""`handoff_assign`: an open handoff given to someone by hand (SPEC §6 lifecycle), a
compare-and-swap on its state like accept and reject."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from mqa.models import Handoff, WebhookDelivery
from mqa.services.handoffs import HandoffConflict, handoff_accept, handoff_assign
from tests.factories import webhook_subscription

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=3)


@pytest.fixture
def unassigned() -> Handoff:
    contact = Contact.objects.create(email="jo@gmail.com", email_domain="gmail.com")
    handoff = Handoff.objects.create(
        kind="lead", contact=contact, queue="inbound", unassigned=True, created_at=LONG_AGO
    )
    Handoff.objects.filter(pk=handoff.pk).update(updated_at=LONG_AGO)
    return handoff


def test_assigning_clears_the_unassigned_flag_and_stamps_the_change(unassigned):
    handoff = handoff_assign(handoff_id=unassigned.id, assignee="sdr@v.io")

    stored = Handoff.objects.get(pk=unassigned.id)
    assert (handoff.assignee, handoff.unassigned) == ("sdr@v.io", False)
    assert (stored.status, stored.assignee, stored.unassigned, stored.queue) == (
        "open",
        "sdr@v.io",
        False,
        "inbound",
    )
    assert stored.updated_at > LONG_AGO


def test_assigning_again_hands_it_to_the_next_person(unassigned):
    handoff_assign(handoff_id=unassigned.id, assignee="a@v.io")
    handoff_assign(handoff_id=unassigned.id, assignee="b@v.io")

    assert Handoff.objects.get(pk=unassigned.id).assignee == "b@v.io"


def test_assigning_announces_a_handoff_update(unassigned):
    webhook_subscription(url="https://hooks.example.test/h", event_types=["handoff.updated"])

    handoff_assign(handoff_id=unassigned.id, assignee="sdr@v.io")

    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.event_type, delivery.payload["data"]["assignee"]) == (
        "handoff.updated",
        "sdr@v.io",
    )


def test_an_accepted_handoff_cannot_be_assigned(unassigned):
    handoff_accept(handoff_id=unassigned.id)
    webhook_subscription(url="https://hooks.example.test/h", event_types=["handoff.updated"])

    with pytest.raises(HandoffConflict, match=f"handoff {unassigned.id} is accepted"):
        handoff_assign(handoff_id=unassigned.id, assignee="sdr@v.io")

    stored = Handoff.objects.get(pk=unassigned.id)
    assert (stored.assignee, stored.unassigned) == (None, True)
    assert WebhookDelivery.objects.count() == 0


def test_an_unknown_handoff_does_not_exist():
    with pytest.raises(Handoff.DoesNotExist):
        handoff_assign(handoff_id=999_999, assignee="sdr@v.io")


@pytest.mark.parametrize("assignee", ["", "  ", "x" * 256])
def test_an_empty_or_too_long_assignee_is_refused(unassigned, assignee):
    with pytest.raises(ValueError, match="assignee must be 1 to 255 characters"):
        handoff_assign(handoff_id=unassigned.id, assignee=assignee)

    assert Handoff.objects.get(pk=unassigned.id).assignee is None


def test_the_assignee_is_trimmed(unassigned):
    handoff_assign(handoff_id=unassigned.id, assignee="  sdr@v.io ")

    assert Handoff.objects.get(pk=unassigned.id).assignee == "sdr@v.io"
