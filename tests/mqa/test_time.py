"""Time passing: window expiry and decay change scores without new events (SPEC §4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.services import contacts_upsert, events_ingest
from mqa.models import ContactScore, ContactStatusChange, PendingWork, RescoreRun
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from mqa.services.pipeline import pipeline_process, pipeline_sweep
from mqa.services.rescore import scores_refresh_for_time
from tests.factories import TEST_MODEL, event, pricing_view

pytestmark = pytest.mark.django_db


def test_events_leaving_their_window_lower_the_score_at_the_next_refresh(active_model):
    now = timezone.now()
    contacts_upsert(items=[{"email": "old@acme.com"}, {"email": "new@acme.com"}])
    events_ingest(
        items=[
            pricing_view("old@acme.com", at=now - timedelta(days=29, hours=23)) for _ in range(2)
        ]
        + [pricing_view("new@acme.com", at=now - timedelta(days=1)) for _ in range(2)],
        now=now,
    )
    pipeline_process(now=now)
    assert ContactScore.objects.get(contact__email="old@acme.com").status == "engaged"

    scores_refresh_for_time(now=now)  # the previous refresh
    PendingWork.objects.all().delete()
    later = now + timedelta(hours=2)  # beat was down for a while: the refresh catches up
    marked = scores_refresh_for_time(now=later)

    old = ContactScore.objects.get(contact__email="old@acme.com")
    assert marked == (1, 0)
    assert list(PendingWork.objects.values_list("object_id", "cause")) == [(old.pk, "time")]
    pipeline_process(now=later)
    old.refresh_from_db()
    assert (old.status, old.engagement) == ("none", 0.0)
    change = ContactStatusChange.objects.get(contact_id=old.pk, to_status="none")
    assert (change.from_status, change.cause) == ("engaged", "time")
    assert ContactScore.objects.get(contact__email="new@acme.com").engagement == 20.0


def test_decaying_rules_mark_everything_inside_their_window(test_document):
    test_document["contact"]["engagement"]["rules"][0]["half_life_days"] = 7
    version = scoring_model_import(document=test_document)
    scoring_model_publish(version_id=version.id, route=False)
    now = timezone.now()
    events_ingest(
        items=[
            event("jo@acme.com", at=now - timedelta(days=50)),
            event("al@acme.com", at=now - timedelta(days=95)),
        ],
        now=now,
    )
    PendingWork.objects.all().delete()

    assert scores_refresh_for_time(now=now) == (1, 0)
    assert list(PendingWork.objects.values_list("object_id", flat=True)) == [
        ContactScore.objects.get(contact__email="jo@acme.com").pk
    ]


def test_the_sweeper_resumes_a_rescore_whose_worker_went_quiet(settings):
    settings.MQA_WORK_LEASE_SECONDS = 60
    contacts_upsert(items=[{"email": "jo@acme.com"}])
    version = scoring_model_import(document=TEST_MODEL)
    run = scoring_model_publish(version_id=version.id, route=True)
    RescoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))

    pipeline_sweep()

    run.refresh_from_db()
    assert (run.state, run.done, run.total) == ("done", 1, 1)


def test_the_sweeper_leaves_a_busy_rescore_alone(settings):
    settings.MQA_WORK_LEASE_SECONDS = 60
    contacts_upsert(items=[{"email": "jo@acme.com"}])
    version = scoring_model_import(document=TEST_MODEL)
    run = scoring_model_publish(version_id=version.id, route=True)

    pipeline_sweep()

    run.refresh_from_db()
    assert (run.state, run.done) == ("running", 0)
