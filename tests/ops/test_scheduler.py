"""Embedded mode: the scheduler process runs the periodic work and the rescores, so SLAs are
marked and webhooks retried with no other traffic, and a publish answers before rescoring."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.services import contacts_upsert, events_ingest
from mqa.models import ContactScore, Handoff, RescoreRun, WebhookDelivery
from mqa.ops.scheduler import scheduler_tick
from mqa.services.model_versions import scoring_model_import
from tests.factories import TEST_MODEL, mql_events, webhook_subscription
from tests.receiver import Receiver

pytestmark = pytest.mark.django_db
EVERY_BEAT_TASK = [
    "mqa.tasks.pipeline_sweep",
    "mqa.tasks.handoffs_mark_breached",
    "mqa.tasks.worker_heartbeat",
    "mqa.tasks.scores_refresh_for_time",
]


@pytest.fixture
def receiver(settings):
    settings.MQA_WEBHOOKS_ALLOW_PRIVATE = True
    server = Receiver().start()
    yield server
    server.stop()


def test_a_publish_in_embedded_mode_leaves_the_rescore_to_the_scheduler(
    settings, api, django_capture_on_commit_callbacks
):
    settings.MQA_RESCORE_IN_SCHEDULER = True
    contacts_upsert(items=[{"email": "jo@acme.com", "seniority": "vp"}])
    events_ingest(items=mql_events("jo@acme.com"))
    draft = scoring_model_import(document=TEST_MODEL)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/scoring-models/{draft.id}/publish", {"route": False}, format="json"
        )

    assert response.status_code == 202
    run = RescoreRun.objects.get()
    assert (run.state, run.done) == ("running", 0)
    assert ContactScore.objects.get(contact__email="jo@acme.com").status == "none"

    ran = scheduler_tick(now=0.0, last={})

    assert ran == [*EVERY_BEAT_TASK, f"mqa.tasks.rescore_run_advance[{run.id}]"]
    run.refresh_from_db()
    assert (run.state, run.done) == ("done", run.total)
    assert ContactScore.objects.get(contact__email="jo@acme.com").status == "mql"


def test_an_sla_breach_is_marked_and_a_failed_webhook_retried_with_no_other_traffic(receiver):
    now = timezone.now()
    late = Handoff.objects.create(kind="lead", created_at=now, due_at=now - timedelta(minutes=1))
    subscription = webhook_subscription(url=receiver.url, event_types=["handoff.updated"])
    failed = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="handoff.updated",
        webhook_id="msg_failed_once",
        payload={"type": "handoff.updated", "data": {}},
        attempts=1,
        last_error="connection refused",
        next_attempt_at=now - timedelta(seconds=1),
    )
    last: dict[str, float] = {}

    assert scheduler_tick(now=100.0, last=last) == EVERY_BEAT_TASK

    late.refresh_from_db()
    failed.refresh_from_db()
    assert late.sla_breached_at is not None
    assert (failed.status, failed.attempts, failed.last_status_code) == ("delivered", 2, 204)
    assert [r.webhook_id for r in receiver.requests] == ["msg_failed_once"]
    # A second later nothing is due yet: every interval is longer than that.
    assert scheduler_tick(now=101.0, last=last) == []
