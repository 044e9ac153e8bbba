"""A transaction a concurrent one made PostgreSQL abort (a deadlock victim, a duplicate new
key) is run again, whole, once it is safe."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

import psycopg
import pytest
from django.core.signals import request_started
from django.db import OperationalError, close_old_connections, connection, connections, transaction

from accounts.models import Account
from contacts.models import Contact
from contacts.services import contacts_upsert, events_ingest
from mqa import dispatch
from mqa.models import ContactScore, PendingWork
from mqa.retry import RACE_ATTEMPTS, race_retried
from mqa.services import pipeline
from mqa.services.scores import scores_recompute
from tests.factories import mql_events


def deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def flaky(failures: int, error=deadlock):
    calls = []

    def service() -> str:
        calls.append(1)
        with transaction.atomic():
            Account.objects.create(domain=f"try{len(calls)}.io")
            if len(calls) <= failures:
                raise error()
        return "stored"

    return service, calls


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_victim_is_run_again_and_stored_once():
    service, calls = flaky(RACE_ATTEMPTS - 1)

    assert race_retried(service) == "stored"

    assert len(calls) == RACE_ATTEMPTS
    assert list(Account.objects.values_list("domain", flat=True)) == [f"try{RACE_ATTEMPTS}.io"]


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_after_the_last_attempt_and_stores_nothing():
    service, calls = flaky(RACE_ATTEMPTS)

    with pytest.raises(OperationalError):
        race_retried(service)

    assert len(calls) == RACE_ATTEMPTS
    assert not Account.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_other_database_errors_are_not_retried():
    service, calls = flaky(1, error=lambda: OperationalError("server closed the connection"))

    with pytest.raises(OperationalError):
        race_retried(service)

    assert len(calls) == 1
    assert not Account.objects.exists()


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_caller_must_retry():
    service, calls = flaky(1)

    with pytest.raises(OperationalError):
        race_retried(service)

    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_a_pipeline_batch_that_deadlocks_is_scored_on_the_next_attempt(active_model, monkeypatch):
    monkeypatch.setattr(dispatch, "send", lambda task, *args: None)  # the test drains
    contacts_upsert(items=[{"email": "jo@acme.com", "seniority": "vp"}])
    events_ingest(items=mql_events("jo@acme.com"))
    real, calls = scores_recompute, []

    def once_deadlocked(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise deadlock()
        return real(**kwargs)

    monkeypatch.setattr(pipeline, "scores_recompute", once_deadlocked)

    assert pipeline.pipeline_process() == 1

    assert len(calls) == 2
    assert ContactScore.objects.get(contact__email="jo@acme.com").status == "mql"
    assert not PendingWork.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_pipeline_batch_is_handed_back_at_once(active_model, monkeypatch):
    monkeypatch.setattr(dispatch, "send", lambda task, *args: None)
    contacts_upsert(items=[{"email": "jo@acme.com"}])

    def broken(**kwargs):
        raise RuntimeError("worker bug")

    monkeypatch.setattr(pipeline, "scores_recompute", broken)

    with pytest.raises(RuntimeError):
        pipeline.pipeline_process()

    assert list(PendingWork.objects.values_list("object_id", "leased_until")) == [
        (Contact.objects.get(email="jo@acme.com").id, None)
    ]


def _waiting_on_a_lock(database: str) -> bool:
    with psycopg.connect(dbname=database, **_params(), autocommit=True) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [database],
        ).fetchone()
        return bool(row and row[0])


def _params() -> dict[str, Any]:
    s = connection.settings_dict
    return {k: v for k, v in (("host", s["HOST"]), ("port", s["PORT"]), ("user", s["USER"]),
            ("password", s["PASSWORD"])) if v}  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_two_batches_creating_the_same_new_contact_both_succeed(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    monkeypatch.setattr(dispatch, "send", lambda task, *args: None)
    database = connection.settings_dict["NAME"]
    results: list[Any] = []
    # The first batch has inserted the contact and not committed yet.
    first = psycopg.connect(dbname=database, **_params())
    first.execute(
        "INSERT INTO contacts_contact (email, email_domain, custom, created_at, updated_at)"
        " VALUES ('x@acme.com', 'acme.com', '{}', now(), now())"
    )

    def second() -> None:
        try:
            results.append(
                race_retried(
                    lambda: contacts_upsert(items=[{"email": "x@acme.com", "title": "CTO"}])
                )
            )
        finally:
            connections.close_all()

    thread = threading.Thread(target=second)
    thread.start()
    deadline = time.monotonic() + 10
    while not _waiting_on_a_lock(database):  # the second insert waits on the first's key
        assert time.monotonic() < deadline, "the second batch never reached the contact's key"
        time.sleep(0.01)
    first.commit()
    first.close()
    thread.join(10)

    assert [r.as_dict() for r in results] == [{"created": 0, "updated": 1, "suppressed": 0}]
    assert list(Contact.objects.values_list("email", "title")) == [("x@acme.com", "CTO")]


@pytest.mark.django_db(transaction=True)
def test_a_service_whose_session_postgresql_ended_is_run_again_on_a_new_connection(
    second_connection,
):
    calls = []

    def service() -> str:
        calls.append(1)
        with transaction.atomic():
            Account.objects.create(domain=f"try{len(calls)}.io")
            if len(calls) == 1:  # an operator (or a failover) ends this session mid-request
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    (pid,) = cursor.fetchone()
                second_connection.execute("SELECT pg_terminate_backend(%s)", [pid])
                Account.objects.count()
        return "stored"

    assert race_retried(service) == "stored"
    assert len(calls) == 2
    assert list(Account.objects.values_list("domain", flat=True)) == ["try2.io"]


@pytest.mark.django_db(transaction=True)
def test_a_request_whose_session_postgresql_ended_after_its_connection_check_is_served(
    second_connection, client_for
):
    api = client_for("ingest")
    # Django checks a kept connection when a request starts; the session ends after that.
    request_started.disconnect(close_old_connections)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        second_connection.execute("SELECT pg_terminate_backend(%s)", [pid])
        response = api.post(
            "/api/v1/contacts/bulk", {"items": [{"email": "jo@acme.com"}]}, format="json"
        )
    finally:
        request_started.connect(close_old_connections)

    assert response.status_code == 200, response.content
    assert list(Contact.objects.values_list("email", flat=True)) == ["jo@acme.com"]


@pytest.mark.django_db(transaction=True)
def test_a_service_whose_connection_broke_in_its_transaction_is_run_again(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    calls = []

    def service() -> str:
        calls.append(1)
        with transaction.atomic():
            Account.objects.create(domain=f"try{len(calls)}.io")
            if len(calls) == 1:  # the connection breaks: "server closed the connection"
                with socket.socket(fileno=os.dup(connection.connection.pgconn.socket)) as s:
                    s.shutdown(socket.SHUT_RDWR)
                Account.objects.count()
        return "stored"

    assert race_retried(service) == "stored"
    assert len(calls) == 2
    assert list(Account.objects.values_list("domain", flat=True)) == ["try2.io"]
