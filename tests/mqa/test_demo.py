"""The demo shows the whole loop: routed handoffs in every state of SPEC §6 over past months."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from mqa.demo import DEMO_ROUTING, REASONS, demo_data_build, demo_data_load, demo_handoffs_play
from mqa.models import Handoff
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from mqa.services.rescore import rescore_run_advance
from mqa.services.routing import routing_document_put

pytestmark = pytest.mark.django_db
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "mqa" / "default_model.json"


def test_the_demo_routes_and_answers_handoffs_in_every_state():
    now = timezone.now()
    demo_data_load(data=demo_data_build(seed=7, now=now, accounts=120), now=now)
    routing_document_put(document=DEMO_ROUTING)
    version = scoring_model_import(document=json.loads(DEFAULT_MODEL.read_text()))
    run = scoring_model_publish(version_id=version.id, route=True)
    assert rescore_run_advance(run_id=run.id) is True

    played = demo_handoffs_play(now=now)

    handoffs = list(Handoff.objects.all())
    assert sum(played.values()) == len(handoffs) > len(played)
    assert {h.kind for h in handoffs} == {"lead", "account"}
    assert {(h.status, h.outcome) for h in handoffs} == {
        ("open", None),
        ("accepted", None),
        ("rejected", None),
        ("accepted", "sql"),
        ("accepted", "opportunity"),
        ("accepted", "won"),
        ("accepted", "lost"),
    }
    assert {h.reason for h in handoffs if h.status == "rejected"} <= set(REASONS)
    breached = [h for h in handoffs if h.sla_breached_at is not None]
    assert len(breached) == played["breached"]
    assert all(h.status == "open" and h.due_at < now for h in breached)
    assert all(h.created_at > now - timedelta(days=181) for h in handoffs)
    months = {(h.created_at.year, h.created_at.month) for h in handoffs}
    assert len(months) >= 4  # the funnel has months to group by
    assert {h.queue for h in handoffs} >= {"inbound", "emea", "abm"}
