"""A handoff's why-now names the rules of the segment whose model qualified it (SPEC §3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff
from mqa.services.pipeline import pipeline_process
from mqa.services.routing import routing_document_put
from tests.factories import event
from tests.mqa.test_routing import ROUTING

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing(active_model):
    routing_document_put(document=ROUTING)


@pytest.fixture
def test_document(test_document):
    """The test model plus a segment of small accounts whose engagement is webinars only."""
    return test_document | {
        "segments": [
            {
                "name": "SMB",
                "when": [{"attribute": "employee_count", "op": "lt", "value": 200}],
                "contact": {
                    "engagement": {
                        "rules": [
                            {"label": "Webinar", "event_type": "webinar_attended", "points": 70}
                        ]
                    }
                },
            }
        ]
    }


def test_a_lead_in_a_segment_is_explained_by_its_segments_rules(routing):
    accounts_upsert(items=[{"domain": "small.io", "employee_count": 50}])
    contacts_upsert(items=[{"email": "vp@small.io", "seniority": "vp"}])
    events_ingest(
        items=[
            event("vp@small.io", "webinar_attended", at=timezone.now() - timedelta(hours=2)),
            event("vp@small.io", at=timezone.now() - timedelta(hours=1)),  # a demo: no SMB rule
        ]
    )

    pipeline_process()

    context = Handoff.objects.get().context
    assert context["breakdown"]["segment"] == "SMB"
    assert [(e["type"], e["rule"]) for e in context["contributing_events"]] == [
        ("webinar_attended", "Webinar")
    ]
    assert context["scores"] == {"fit": 30, "engagement": 70.0, "total": 100.0}
