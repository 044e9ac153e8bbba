"""The full rescore shared by several lanes: chunks claimed under row locks, done once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection, connections
from django.utils import timezone

from accounts.models import Account
from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.services import contacts_upsert, events_ingest
from mqa import dispatch
from mqa.models import (
    AccountScore,
    AccountStatusChange,
    ContactScore,
    ContactStatusChange,
    RescoreChunk,
    RescoreRun,
)
from mqa.selectors import scoring_model_active
from mqa.services import rescore
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from mqa.services.pipeline import pipeline_sweep
from mqa.services.stores import Scope, records, sql
from tests.factories import TEST_MODEL, event, mql_events, pricing_view

CONTACT_STATUSES = {
    "jo@acme.com": "mql",
    "al@acme.com": "engaged",
    "ed@acme.com": "disqualified",
    "cy@acme.com": "none",
    "bo@beta.com": "engaged",
    "di@beta.com": "none",
    "fa@gamma.com": "none",
    "gu@gamma.com": "none",
}
ACCOUNT_STATUSES = {"acme.com": "mqa", "beta.com": "engaged", "gamma.com": "disqualified"}


def given_three_accounts_and_eight_contacts() -> None:
    accounts_upsert(
        items=[
            {"domain": "acme.com", "employee_count": 500},
            {"domain": "beta.com", "employee_count": 50},
            {"domain": "gamma.com", "employee_count": 500, "custom": {"is_customer": True}},
        ]
    )
    contacts_upsert(
        items=[
            {"email": "jo@acme.com", "seniority": "vp", "buying_role": "decision_maker"},
            {"email": "al@acme.com", "buying_role": "champion"},
            {"email": "ed@acme.com", "seniority": "student"},
            {"email": "cy@acme.com"},
            {"email": "bo@beta.com"},
            {"email": "di@beta.com"},
            {"email": "fa@gamma.com"},
            {"email": "gu@gamma.com"},
        ]
    )
    events_ingest(
        items=[
            *mql_events("jo@acme.com"),
            pricing_view("al@acme.com"),
            pricing_view("al@acme.com"),
            event("bo@beta.com"),
        ]
    )


def published_run(monkeypatch: pytest.MonkeyPatch) -> tuple[RescoreRun, list[Any]]:
    """Publish TEST_MODEL with the lanes recorded instead of sent: the test plays the workers.

    `sent` lists the run id of every lane sent; other tasks are sent as usual.
    """
    sent: list[Any] = []
    send = dispatch.send

    def record_lanes(task: str, *args: Any) -> None:
        if task == "rescore_run_advance":
            sent.append(args[0])
        else:
            send(task, *args)

    monkeypatch.setattr(dispatch, "send", record_lanes)
    version = scoring_model_import(document=TEST_MODEL)
    return scoring_model_publish(version_id=version.id, route=True), sent


def final_state() -> dict[str, Any]:
    return {
        "contacts": dict(ContactScore.objects.values_list("contact__email", "status")),
        "accounts": dict(AccountScore.objects.values_list("account__domain", "status")),
        "contact_changes": sorted(
            ContactStatusChange.objects.values_list("contact__email", "from_status", "to_status")
        ),
        "account_changes": sorted(
            AccountStatusChange.objects.values_list("account__domain", "from_status", "to_status")
        ),
    }


def scores() -> dict[str, Any]:
    return {
        "contacts": {
            s.contact.email: (s.status, s.fit, s.engagement, s.total, s.breakdown)
            for s in ContactScore.objects.select_related("contact")
        },
        "accounts": {
            s.account.domain: (s.status, s.fit, s.engagement, s.engaged_contacts, s.missing)
            for s in AccountScore.objects.select_related("account")
        },
    }


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="lanes, row locks and the set-based path"
)


def small_chunks(settings: Any) -> None:
    """Chunks of two records, on either path."""
    settings.MQA_BULK_CHUNK = settings.MQA_BULK_ACCOUNT_CHUNK = settings.MQA_RESCORE_CHUNK = 2


EXPECTED = {
    "contacts": CONTACT_STATUSES,
    "accounts": ACCOUNT_STATUSES,
    "contact_changes": [
        ("al@acme.com", "none", "engaged"),
        ("bo@beta.com", "none", "engaged"),
        ("ed@acme.com", "none", "disqualified"),
        ("jo@acme.com", "none", "mql"),
    ],
    "account_changes": [
        ("acme.com", "none", "mqa"),
        ("beta.com", "none", "engaged"),
        ("gamma.com", "none", "disqualified"),
    ],
}


def in_thread(work: Any) -> threading.Thread:
    def run() -> None:
        try:
            work()
        finally:
            connection.close()  # each thread has its own connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lanes", [1, 2])
def test_lanes_working_concurrently_reach_the_state_of_a_synchronous_recompute(
    lanes, settings, monkeypatch
):
    small_chunks(settings)
    given_three_accounts_and_eight_contacts()
    run, sent = published_run(monkeypatch)
    assert sent == [run.id] * 2  # MQA_RESCORE_LANES

    start = threading.Barrier(lanes)
    finished: list[bool] = []

    def lane() -> None:
        start.wait()
        finished.append(rescore.rescore_run_advance(run_id=run.id))

    for thread in [in_thread(lane) for _ in range(lanes)]:
        thread.join()

    run.refresh_from_db()
    assert (run.state, run.phase, run.done, run.total) == ("done", "accounts", 11, 11)
    assert finished == [True] * lanes
    assert sent == [run.id] * 3  # and the other lane woken for the accounts
    assert (
        list(RescoreChunk.objects.order_by("phase", "lo").values_list("phase", "state"))
        == [("accounts", "done")] * 2 + [("contacts", "done")] * 4
    )
    assert final_state() == EXPECTED
    stored = scores()
    active = scoring_model_active()
    assert active is not None
    records.contacts_write(
        scope=Scope.of(Contact.objects.values_list("id", flat=True)),
        active=active,
        now=run.started_at,
        cause="publish",
    )
    records.accounts_write(
        scope=Scope.of(Account.objects.values_list("id", flat=True)),
        active=active,
        now=run.started_at,
        cause="publish",
    )
    assert scores() == stored
    assert final_state() == EXPECTED  # the record-by-record path changes nothing


@pytest.mark.django_db
def test_accounts_wait_until_every_contact_chunk_is_done(settings, monkeypatch):
    small_chunks(settings)
    given_three_accounts_and_eight_contacts()
    run, _ = published_run(monkeypatch)

    for done in (2, 4, 6):
        assert rescore.rescore_run_advance(run_id=run.id, budget_seconds=0) is False
        run.refresh_from_db()
        assert (run.phase, run.done) == ("contacts", done)
        assert AccountStatusChange.objects.count() == 0

    assert rescore.rescore_run_advance(run_id=run.id, budget_seconds=0) is False
    run.refresh_from_db()
    assert (run.phase, run.done, run.state) == ("accounts", 8, "running")
    assert AccountStatusChange.objects.count() == 0
    assert rescore.rescore_run_advance(run_id=run.id) is True
    assert final_state() == EXPECTED


def _lock_chunk(chunk_id: int) -> psycopg.Connection[Any]:
    """Another session holding a chunk's row lock: a lane still working on it."""
    db = connections["default"].settings_dict
    other = psycopg.connect(
        dbname=db["NAME"], user=db["USER"] or None, host=db["HOST"] or None, port=db["PORT"] or None
    )
    other.execute("SELECT 1 FROM mqa_rescorechunk WHERE id = %s FOR UPDATE", [chunk_id])
    return other


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_chunk_held_by_a_slow_lane_is_skipped_not_redone_and_the_rest_goes_on(
    settings, monkeypatch
):
    small_chunks(settings)
    settings.MQA_WORK_LEASE_SECONDS = 60
    given_three_accounts_and_eight_contacts()
    run, sent = published_run(monkeypatch)
    assert rescore.rescore_run_advance(run_id=run.id, budget_seconds=0) is False  # plans, 1 chunk
    slow = RescoreChunk.objects.filter(phase="contacts", state="pending").order_by("lo").first()
    assert slow is not None
    held = _lock_chunk(slow.id)
    try:
        assert rescore.rescore_run_advance(run_id=run.id) is True  # idle: the rest is taken
        run.refresh_from_db()
        assert (run.state, run.phase, run.done) == ("running", "contacts", 6)
        assert list(
            RescoreChunk.objects.filter(phase="contacts").order_by("lo").values_list("state")
        ) == [("done",), ("pending",), ("done",), ("done",)]

        # The sweeper sees no progress for a lease and re-sends lanes; they skip the chunk.
        RescoreRun.objects.filter(pk=run.pk).update(
            heartbeat_at=run.heartbeat_at - timedelta(seconds=61)
        )
        pipeline_sweep()
        assert sent == [run.id] * 4  # the lanes of the publish, then the sweeper's
        assert rescore.rescore_run_advance(run_id=run.id) is True
        run.refresh_from_db()
        assert (run.state, run.done) == ("running", 6)
    finally:
        held.rollback()  # the slow lane's worker died: its lock goes with its connection
        held.close()

    assert rescore.rescore_run_advance(run_id=run.id) is True
    run.refresh_from_db()
    assert (run.state, run.done, run.total) == ("done", 11, 11)
    assert final_state() == EXPECTED  # out of order, and every change recorded once


@pytest.mark.django_db
def test_a_lane_that_fails_mid_chunk_leaves_it_pending_and_it_is_done_once(settings, monkeypatch):
    small_chunks(settings)
    given_three_accounts_and_eight_contacts()
    run, _ = published_run(monkeypatch)
    real = rescore.scores_recompute_range

    def dies(**kwargs: Any) -> None:
        real(**kwargs)  # the scores are written, then the worker is lost before commit
        raise ConnectionError("worker lost")

    monkeypatch.setattr(rescore, "scores_recompute_range", dies)
    with pytest.raises(ConnectionError):
        rescore.rescore_run_advance(run_id=run.id)
    run.refresh_from_db()
    assert run.done == 0
    assert set(RescoreChunk.objects.values_list("state", flat=True)) == {"pending"}
    assert ContactStatusChange.objects.count() == 0

    monkeypatch.setattr(rescore, "scores_recompute_range", real)
    assert rescore.rescore_run_advance(run_id=run.id) is True
    run.refresh_from_db()
    assert (run.state, run.done) == ("done", 11)
    assert final_state() == EXPECTED


@pytest.mark.django_db
def test_a_lane_of_a_superseded_run_stops_without_claiming(settings, monkeypatch):
    small_chunks(settings)
    given_three_accounts_and_eight_contacts()
    run, _ = published_run(monkeypatch)
    assert rescore.rescore_run_advance(run_id=run.id, budget_seconds=0) is False
    newer = scoring_model_publish(
        version_id=scoring_model_import(document=TEST_MODEL).id, route=True
    )

    assert rescore.rescore_run_advance(run_id=run.id) is True

    run.refresh_from_db()
    assert (run.state, run.done) == ("superseded", 2)
    assert RescoreChunk.objects.filter(run=run, state="done").count() == 1
    assert rescore.rescore_run_advance(run_id=newer.id) is True
    assert final_state() == EXPECTED


@postgresql_only
@pytest.mark.django_db
def test_a_publish_rewrites_every_score_with_its_version_and_a_redone_chunk_writes_nothing(
    settings, monkeypatch
):
    small_chunks(settings)
    given_three_accounts_and_eight_contacts()
    first, _ = published_run(monkeypatch)
    assert rescore.rescore_run_advance(run_id=first.id) is True
    before = {s.contact.email: s for s in ContactScore.objects.select_related("contact")}
    bigger = TEST_MODEL | {
        "contact": TEST_MODEL["contact"]
        | {"fit": {"rules": [{**TEST_MODEL["contact"]["fit"]["rules"][0], "points": 35}]}}
    }

    second = scoring_model_publish(version_id=scoring_model_import(document=bigger).id, route=True)
    assert rescore.rescore_run_advance(run_id=second.id) is True

    after = {s.contact.email: s for s in ContactScore.objects.select_related("contact")}
    # Beta's contacts come out as they were, yet they too now state the version that scored
    # them (SPEC §3).
    assert {e: after[e].model_version_id for e in after} == dict.fromkeys(
        after, second.model_version_id
    )
    assert after["bo@beta.com"].breakdown == before["bo@beta.com"].breakdown
    assert (after["jo@acme.com"].fit, after["al@acme.com"].fit) == (35, 0)

    # A chunk done again under the same version (a worker died after its commit) writes nothing.
    active = scoring_model_active()
    assert active is not None
    later = timezone.now()
    sql.contacts_write(
        scope=Scope.between(0, 10**9),
        active=active,
        now=later,
        cause="publish",
        skip_unchanged=True,
    )
    again = {s.contact.email: s.computed_at for s in ContactScore.objects.select_related("contact")}
    assert again == {e: after[e].computed_at for e in after}
    run = RescoreRun.objects.get(pk=second.pk)
    assert (run.state, run.done) == ("done", 11)


@postgresql_only
@pytest.mark.django_db
def test_chunks_are_a_few_per_lane_and_at_most_the_configured_size(settings):
    settings.MQA_RESCORE_LANES, settings.MQA_BULK_CHUNK = 2, 100_000
    settings.MQA_BULK_ACCOUNT_CHUNK = 10_000

    settings.MQA_TIME_REFRESH_CHUNK = 10_000

    assert rescore._chunk_size("contacts", 100_000, "publish") == 12_500  # 4 per lane
    assert rescore._chunk_size("contacts", 1_000_000, "publish") == 100_000  # the memory bound
    assert rescore._chunk_size("contacts", 50, "publish") == 1_000  # one chunk for small tables
    assert rescore._chunk_size("accounts", 1_000_000, "publish") == 10_000
    # A time refresh holds the rows of a chunk against new data: smaller ones.
    assert rescore._chunk_size("contacts", 1_000_000, "time") == 10_000
    assert rescore._chunk_size("contacts", 50, "time") == 1_000


@postgresql_only
@pytest.mark.django_db
def test_scores_computed_for_a_model_published_over_meanwhile_are_not_stored(monkeypatch):
    given_three_accounts_and_eight_contacts()
    published_run(monkeypatch)
    old = scoring_model_active()
    scoring_model_publish(version_id=scoring_model_import(document=TEST_MODEL).id, route=True)
    assert old is not None

    # A lane that read the old model before the publish reaches its chunk's update after it.
    sql.contacts_write(
        scope=Scope.between(0, rescore.LAST_ID), active=old, now=timezone.now(), cause="publish"
    )

    assert set(ContactScore.objects.values_list("status", flat=True)) == {"none"}
    assert ContactScore.objects.filter(model_version__isnull=False).count() == 0
    assert ContactStatusChange.objects.count() == 0
