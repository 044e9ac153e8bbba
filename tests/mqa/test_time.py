"""Time passing: window expiry and decay change scores without new events (SPEC §4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from contacts.services import contacts_upsert, events_ingest
from mqa.models import ContactScore, ContactStatusChange, PendingWork, RescoreChunk, RescoreRun
from mqa.selectors import pipeline_status_get
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from mqa.services.pipeline import pipeline_process, pipeline_sweep
from mqa.services.rescore import rescore_run_advance, scores_refresh_for_time
from tests.conftest import publish
from tests.factories import TEST_MODEL, event, pricing_view

pytestmark = pytest.mark.django_db


def _finish_runs() -> None:
    """Run every rescore still running to its end, in-process (as a lane would)."""
    for run_id in RescoreRun.objects.filter(state="running").values_list("id", flat=True):
        rescore_run_advance(run_id=run_id)


def test_events_leaving_their_window_lower_the_score_at_the_next_refresh(active_model):
    _finish_runs()
    # Scored two hours ago, when the old contact's events were still inside the 30-day window.
    then = timezone.now() - timedelta(hours=2)
    contacts_upsert(items=[{"email": "old@acme.com"}, {"email": "new@acme.com"}])
    events_ingest(
        items=[
            pricing_view("old@acme.com", at=then - timedelta(days=29, hours=23)) for _ in range(2)
        ]
        + [pricing_view("new@acme.com", at=then - timedelta(days=1)) for _ in range(2)],
        now=then,
    )
    pipeline_process(now=then)
    assert ContactScore.objects.get(contact__email="old@acme.com").status == "engaged"

    run = scores_refresh_for_time()

    assert run is not None
    assert (run.cause, run.state, run.route) == ("time", "running", True)
    assert not PendingWork.objects.exists()  # no record is queued one by one
    rescore_run_advance(run_id=run.id)
    run.refresh_from_db()
    assert (run.state, run.done) == ("done", 2)
    old = ContactScore.objects.get(contact__email="old@acme.com")
    assert (old.status, old.engagement) == ("none", 0.0)
    change = ContactStatusChange.objects.get(contact_id=old.pk, to_status="none")
    assert (change.from_status, change.cause) == ("engaged", "time")
    assert ContactScore.objects.get(contact__email="new@acme.com").engagement == 20.0


def test_decay_is_taken_in_and_rows_time_did_not_change_are_not_rewritten(test_document):
    test_document["contact"]["engagement"]["rules"][0]["half_life_days"] = 7
    publish(test_document, route=False)
    _finish_runs()
    then = timezone.now() - timedelta(days=7)
    events_ingest(
        items=[
            event("jo@acme.com", at=then - timedelta(days=7)),  # one half-life old then
            event("al@acme.com", at=then - timedelta(days=95)),  # outside the 90-day window
        ],
        now=then,
    )
    pipeline_process(now=then)
    assert ContactScore.objects.get(contact__email="jo@acme.com").engagement == 20.0

    run = scores_refresh_for_time()
    assert run is not None
    rescore_run_advance(run_id=run.id)

    jo = ContactScore.objects.get(contact__email="jo@acme.com")
    al = ContactScore.objects.get(contact__email="al@acme.com")
    assert jo.engagement == 10.0  # two half-lives old now
    assert jo.computed_at > then
    assert (al.engagement, al.computed_at) == (0.0, then)  # came out as stored: left alone


def test_no_refresh_starts_while_a_rescore_runs(active_model):
    publish_run = RescoreRun.objects.get()
    assert publish_run.state == "running"

    assert scores_refresh_for_time() is None
    assert RescoreRun.objects.count() == 1

    _finish_runs()
    first = scores_refresh_for_time()
    assert first is not None
    assert scores_refresh_for_time() is None  # the first refresh is still running
    assert list(RescoreRun.objects.values_list("cause", flat=True)) == ["time", "publish"]


def test_no_refresh_runs_for_a_model_that_time_cannot_change(test_document):
    for part in (test_document["contact"]["engagement"], test_document["account"]["signals"]):
        for rule in part["rules"]:
            rule.pop("window_days", None)
    publish(test_document)
    _finish_runs()

    assert scores_refresh_for_time() is None
    assert RescoreRun.objects.filter(cause="time").count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="chunk sizes of the set-based store")
def test_a_time_refresh_cuts_smaller_chunks_than_a_publish(settings, active_model):
    settings.MQA_TIME_REFRESH_CHUNK = 2
    contacts_upsert(items=[{"email": f"c{n}@acme.com"} for n in range(5)])
    _finish_runs()

    run = scores_refresh_for_time()
    assert run is not None
    rescore_run_advance(run_id=run.id)

    def chunks(of: RescoreRun) -> int:
        return RescoreChunk.objects.filter(run=of, phase="contacts").count()

    assert chunks(run) == 3  # 5 contacts, at most 2 a chunk
    assert chunks(RescoreRun.objects.get(cause="publish")) == 1
    run.refresh_from_db()
    assert (run.state, run.done) == ("done", 5)


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


def test_a_running_time_refresh_is_shown_but_is_no_pending_work(active_model):
    contacts_upsert(items=[{"email": "jo@acme.com"}])
    assert pipeline_status_get()["pending"] == 2  # jo's work, and the publish's rescore
    _finish_runs()
    PendingWork.objects.all().delete()

    run = scores_refresh_for_time()

    assert run is not None
    status = pipeline_status_get()
    assert status["rescore"] == {"state": "running", "done": 0, "total": 1}  # jo
    assert (status["pending"], status["oldest_pending_seconds"]) == (0, 0.0)
