"""Leases while a batch runs, and the drain beside ingest (SPEC §5), on PostgreSQL with a
real second client: a batch slower than its lease keeps it; releasing finished work never
waits for rows an ingest holds (waiting there made the two deadlock)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from contacts.services import events_ingest
from mqa import dispatch
from mqa.models import ContactScore, PendingWork
from mqa.services import pipeline
from mqa.services.work_queue import work_claim, work_release
from tests.factories import event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_wake_ups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatch, "send", lambda task, *args: None)  # the tests drain


def test_a_batch_that_runs_past_its_lease_is_not_handed_out_again(
    second_connection: psycopg.Connection[Any], active_model, settings, monkeypatch
):
    settings.MQA_WORK_LEASE_SECONDS = 3  # renewed every second
    events_ingest(items=[event("jo@acme.com")])
    started, finish = threading.Event(), threading.Event()
    scores_recompute = pipeline.scores_recompute

    def slow_scores(**kwargs: Any) -> Any:
        started.set()
        assert finish.wait(30)
        return scores_recompute(**kwargs)

    monkeypatch.setattr(pipeline, "scores_recompute", slow_scores)

    def drain() -> None:
        try:
            pipeline.pipeline_process()
        finally:
            connection.close()

    worker = threading.Thread(target=drain)
    worker.start()
    try:
        assert started.wait(10)
        (first_lease,) = PendingWork.objects.values_list("leased_until", flat=True)
        while timezone.now() <= first_lease + timedelta(seconds=1):
            time.sleep(0.05)  # the first lease is over by a second
        assert work_claim(limit=10, now=timezone.now()) == []  # still the worker's
        (renewed,) = PendingWork.objects.values_list("leased_until", flat=True)
        assert renewed > first_lease
    finally:
        finish.set()
        worker.join(30)

    assert not worker.is_alive()
    assert PendingWork.objects.count() == 0
    assert ContactScore.objects.filter(contact__email="jo@acme.com").count() == 1


def test_releasing_finished_work_does_not_wait_for_a_row_ingest_holds(
    second_connection: psycopg.Connection[Any], active_model
):
    events_ingest(items=[event("jo@acme.com"), event("al@acme.com")])
    claimed = work_claim(limit=10, now=timezone.now())
    al = Contact.objects.get(email="al@acme.com").id
    # An ingest marks al stale again and has not committed yet: it holds al's work row.
    second_connection.execute(
        f"UPDATE {PendingWork._meta.db_table} SET token = gen_random_uuid() WHERE object_id = %s",
        [al],
    )
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '2s'")  # waiting would fail here, not hang
    try:
        work_release(claimed=claimed)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    # jo's row is released, al's is left for the ingest (which re-marks it) to commit.
    assert list(PendingWork.objects.values_list("object_id", flat=True)) == [al]
    second_connection.commit()
    assert PendingWork.objects.get().token not in {c.token for c in claimed}
