"""Handoffs from status transitions (SPEC §6), on the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff, RoutingQueueState
from mqa.services.handoffs import (
    HandoffConflict,
    handoff_accept,
    handoff_outcome_record,
    handoff_reject,
    handoffs_mark_breached,
)
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from mqa.services.pipeline import pipeline_process
from mqa.services.rescore import rescore_run_advance
from mqa.services.routing import routing_document_put
from tests.factories import TEST_MODEL, event, mql_events, pricing_view

pytestmark = pytest.mark.django_db

ROUTING = {
    "format": "mqa.routing/v1",
    "queues": [
        {
            "name": "inbound",
            "members": [
                {"assignee": "a@v.io"},
                {"assignee": "b@v.io", "active": False},
                {"assignee": "c@v.io", "capacity": 1},
            ],
        },
        {"name": "emea", "members": [{"assignee": "e@v.io"}]},
        {"name": "abm", "members": [{"assignee": "g@v.io"}, {"assignee": "h@v.io"}]},
    ],
    "rules": [
        {
            "label": "EMEA",
            "when": [{"attribute": "country", "op": "in", "value": ["DE", "FR"]}],
            "queue": "emea",
        }
    ],
    "default_queue": "inbound",
    "abm_queue": "abm",
    "lead_sla_hours": 4,
    "account_sla_hours": 24,
    "recycle_cooldown_days": 10,
}


@pytest.fixture
def routing(active_model):
    routing_document_put(document=ROUTING)
    return ROUTING


def qualify(*emails: str) -> None:
    events_ingest(items=[e for email in emails for e in mql_events(email)])
    pipeline_process()


def test_an_mql_outside_target_accounts_gets_a_lead_handoff_routed_round_robin(routing):
    contacts_upsert(items=[{"email": f"p{i}@gmail.com", "seniority": "vp"} for i in range(4)])

    qualify("p0@gmail.com", "p1@gmail.com")
    qualify("p2@gmail.com")
    qualify("p3@gmail.com")

    handoffs = list(
        Handoff.objects.order_by("id").values_list(
            "contact__email", "kind", "assignee", "queue", "unassigned"
        )
    )
    assert handoffs == [
        ("p0@gmail.com", "lead", "a@v.io", "inbound", False),
        ("p1@gmail.com", "lead", "c@v.io", "inbound", False),  # b is inactive
        ("p2@gmail.com", "lead", "a@v.io", "inbound", False),  # c is at capacity (1 open)
        ("p3@gmail.com", "lead", "a@v.io", "inbound", False),
    ]
    second = Handoff.objects.get(contact__email="p1@gmail.com")
    assert second.decision == {
        "assignee": "c@v.io",
        "queue": "inbound",
        "owner_used": False,
        "rule": None,
        "skipped": [{"assignee": "b@v.io", "why": "inactive"}],
        "unassigned": False,
    }
    assert second.due_at == second.created_at + timedelta(hours=4)
    assert RoutingQueueState.objects.get(queue="inbound").last_assignee == "a@v.io"


def test_rules_pick_the_queue_and_the_account_owner_wins(routing):
    accounts_upsert(items=[{"domain": "acme.com", "owner": "owner@v.io"}])
    contacts_upsert(
        items=[
            {"email": "de@gmail.com", "seniority": "vp", "country": "DE"},
            {"email": "jo@acme.com", "seniority": "vp", "country": "DE"},
        ]
    )

    qualify("de@gmail.com", "jo@acme.com")

    routed = dict(Handoff.objects.values_list("contact__email", "assignee"))
    assert routed == {"de@gmail.com": "e@v.io", "jo@acme.com": "owner@v.io"}
    assert Handoff.objects.get(contact__email="de@gmail.com").decision["rule"] == 0
    assert Handoff.objects.get(contact__email="jo@acme.com").decision["owner_used"] is True


def test_target_accounts_get_account_handoffs_and_their_contacts_no_lead_handoffs(routing):
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 500, "is_target": True}])
    contacts_upsert(
        items=[
            {"email": "ceo@acme.com", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": "vp@acme.com", "seniority": "vp", "buying_role": "champion"},
        ]
    )

    qualify("ceo@acme.com", "vp@acme.com")

    handoff = Handoff.objects.get()
    assert (
        handoff.kind,
        handoff.account.domain,
        handoff.contact,
        handoff.assignee,
        handoff.queue,
    ) == ("account", "acme.com", None, "g@v.io", "abm")
    assert handoff.due_at == handoff.created_at + timedelta(hours=24)


def test_nobody_eligible_leaves_the_handoff_unassigned_and_flagged(active_model):
    routing_document_put(
        document={
            "format": "mqa.routing/v1",
            "queues": [{"name": "q", "members": [{"assignee": "x", "active": False}]}],
            "default_queue": "q",
        }
    )
    contacts_upsert(items=[{"email": "jo@gmail.com", "seniority": "vp"}])

    qualify("jo@gmail.com")

    handoff = Handoff.objects.get()
    assert (handoff.assignee, handoff.unassigned, handoff.decision["skipped"]) == (
        None,
        True,
        [{"assignee": "x", "why": "inactive"}],
    )


def leave_and_reenter(email: str, days_later: int) -> None:
    """Leave mql (disqualified as a student), then qualify again, `days_later` from now."""
    from mqa.models import ContactScore

    later = timezone.now() + timedelta(days=days_later)
    contacts_upsert(items=[{"email": email, "seniority": "student"}])
    pipeline_process(now=later)
    assert ContactScore.objects.get(contact__email=email).status == "disqualified"
    events_ingest(
        items=[event(email, at=later), *(pricing_view(email, at=later) for _ in range(3))],
        now=later,
    )
    contacts_upsert(items=[{"email": email, "seniority": "vp"}])
    pipeline_process(now=later)
    assert ContactScore.objects.get(contact__email=email).status == "mql"


def test_one_open_handoff_per_record(routing):
    contacts_upsert(items=[{"email": "jo@gmail.com", "seniority": "vp"}])
    qualify("jo@gmail.com")

    leave_and_reenter("jo@gmail.com", days_later=100)

    assert Handoff.objects.count() == 1


def test_after_a_rejection_a_new_handoff_needs_a_new_entry_after_the_cooldown(routing):
    contacts_upsert(
        items=[
            {"email": "jo@gmail.com", "seniority": "vp"},
            {"email": "al@gmail.com", "seniority": "vp"},
        ]
    )
    qualify("jo@gmail.com", "al@gmail.com")
    for handoff in Handoff.objects.all():
        handoff_reject(handoff_id=handoff.id, reason="timing", now=timezone.now())

    leave_and_reenter("jo@gmail.com", days_later=5)  # within the 10-day cooldown
    leave_and_reenter("al@gmail.com", days_later=100)

    assert list(
        Handoff.objects.filter(contact__email="jo@gmail.com").values_list("status", flat=True)
    ) == ["rejected"]
    assert list(
        Handoff.objects.filter(contact__email="al@gmail.com")
        .order_by("id")
        .values_list("status", flat=True)
    ) == ["rejected", "open"]


def test_a_publish_routes_only_when_asked(active_model, settings):
    routing_document_put(document=ROUTING)
    contacts_upsert(items=[{"email": "jo@gmail.com", "seniority": "vp"}, {"email": "al@gmail.com"}])
    events_ingest(items=mql_events("jo@gmail.com") + mql_events("al@gmail.com"))
    pipeline_process()
    assert Handoff.objects.count() == 1  # al has no fit yet
    looser = TEST_MODEL | {
        "contact": TEST_MODEL["contact"]
        | {"thresholds": {"fit_floor": 0, "engagement_floor": 20, "total": 70, "engaged": 10}}
    }

    quiet = scoring_model_publish(version_id=scoring_model_import(document=looser).id, route=False)
    rescore_run_advance(run_id=quiet.id)
    assert Handoff.objects.count() == 1

    contacts_upsert(items=[{"email": "ed@gmail.com"}])
    events_ingest(items=mql_events("ed@gmail.com"))
    routed = scoring_model_publish(version_id=scoring_model_import(document=looser).id, route=True)
    rescore_run_advance(run_id=routed.id)
    assert sorted(Handoff.objects.values_list("contact__email", flat=True)) == [
        "ed@gmail.com",
        "jo@gmail.com",
    ]


def test_feedback_lifecycle_and_conflicts(routing):
    contacts_upsert(items=[{"email": "jo@gmail.com", "seniority": "vp"}])
    qualify("jo@gmail.com")
    handoff = Handoff.objects.get()

    with pytest.raises(HandoffConflict):
        handoff_outcome_record(handoff_id=handoff.id, outcome="sql")
    assert handoff_accept(handoff_id=handoff.id).status == "accepted"
    with pytest.raises(HandoffConflict, match="is accepted"):
        handoff_reject(handoff_id=handoff.id, reason="timing")
    assert (
        handoff_outcome_record(handoff_id=handoff.id, outcome="opportunity").outcome
        == "opportunity"
    )
    with pytest.raises(HandoffConflict, match="outcome opportunity"):
        handoff_outcome_record(handoff_id=handoff.id, outcome="sql")
    assert handoff_outcome_record(handoff_id=handoff.id, outcome="won").outcome == "won"
    with pytest.raises(HandoffConflict):
        handoff_outcome_record(handoff_id=handoff.id, outcome="lost")
    with pytest.raises(ValueError, match="reason must be one of"):
        handoff_reject(handoff_id=handoff.id, reason="meh")
    handoff.refresh_from_db()
    assert (handoff.status, handoff.outcome, handoff.reason) == ("accepted", "won", None)


def test_open_handoffs_past_due_are_marked_breached_once(routing):
    contacts_upsert(
        items=[
            {"email": "jo@gmail.com", "seniority": "vp"},
            {"email": "al@gmail.com", "seniority": "vp"},
        ]
    )
    qualify("jo@gmail.com", "al@gmail.com")
    handoff_accept(handoff_id=Handoff.objects.get(contact__email="al@gmail.com").id)
    late = timezone.now() + timedelta(hours=4, minutes=1)

    assert handoffs_mark_breached(now=timezone.now()) == 0
    assert handoffs_mark_breached(now=late) == 1
    assert handoffs_mark_breached(now=late + timedelta(minutes=1)) == 0

    assert list(
        Handoff.objects.filter(sla_breached_at__isnull=False).values_list(
            "contact__email", flat=True
        )
    ) == ["jo@gmail.com"]
