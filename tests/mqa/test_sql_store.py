"""The set-based store (PostgreSQL): each of its statements is bounded by a statement timeout,
and runs with JIT as configured (off by default)."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from contacts.services import contacts_upsert, events_ingest
from mqa import dispatch
from mqa.models import ContactScore, ContactStatusChange
from mqa.selectors import scoring_model_active
from mqa.services import rescore
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from mqa.services.stores import Scope, sql
from tests.factories import TEST_MODEL, mql_events

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based path")


def _hold_score_rows() -> psycopg.Connection[Any]:
    """Another session holding every contact score row's lock, so a write must wait."""
    db = connections["default"].settings_dict
    other = psycopg.connect(
        dbname=db["NAME"], user=db["USER"] or None, host=db["HOST"] or None, port=db["PORT"] or None
    )
    other.execute("SELECT 1 FROM mqa_contactscore FOR UPDATE")
    return other


@pytest.mark.django_db(transaction=True)
def test_a_set_based_write_longer_than_the_statement_timeout_is_cancelled(settings, monkeypatch):
    # given an active model, one MQL contact scored once, and its score row locked elsewhere
    monkeypatch.setattr(dispatch, "send", lambda task, *args: None)  # the test plays the lanes
    scoring_model_publish(version_id=scoring_model_import(document=TEST_MODEL).id, route=True)
    active = scoring_model_active()
    assert active is not None
    contacts_upsert(items=[{"email": "jo@acme.com", "seniority": "vp"}])
    events_ingest(items=mql_events("jo@acme.com"))
    scope = Scope.between(0, rescore.LAST_ID)
    sql.contacts_write(scope=scope, active=active, now=timezone.now(), cause="publish")
    assert list(ContactScore.objects.values_list("status", flat=True)) == ["mql"]
    ContactScore.objects.update(status="none")
    changes = ContactStatusChange.objects.count()
    settings.MQA_SQL_STATEMENT_TIMEOUT_MS = 200
    held = _hold_score_rows()
    # Without a timeout the write would wait for the lock forever; let it go eventually so
    # that a missing timeout fails this test instead of hanging it.
    release = threading.Timer(20, held.rollback)
    release.start()
    try:
        # when the store writes, then PostgreSQL cancels the statement that waits too long
        with pytest.raises(OperationalError, match="statement timeout"):
            sql.contacts_write(scope=scope, active=active, now=timezone.now(), cause="rescore")
    finally:
        release.cancel()
        held.rollback()
        held.close()

    # and nothing was written
    assert list(ContactScore.objects.values_list("status", flat=True)) == ["none"]
    assert ContactStatusChange.objects.count() == changes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("jit", "session", "expected"), [(False, "on", "off"), (True, "off", "on")]
)
def test_the_set_based_write_sets_jit_as_configured_for_its_own_transaction_only(
    monkeypatch, settings, jit, session, expected
):
    # given an active model and one contact to score, in a session whose JIT is the other way
    settings.MQA_SQL_JIT = jit
    monkeypatch.setattr(dispatch, "send", lambda task, *args: None)
    scoring_model_publish(version_id=scoring_model_import(document=TEST_MODEL).id, route=True)
    active = scoring_model_active()
    assert active is not None
    contacts_upsert(items=[{"email": "jo@acme.com", "seniority": "vp"}])
    with connection.cursor() as cursor:
        cursor.execute(f"SET jit = {session}")
    seen = []

    def spy(execute, sql_text, params, many, context):
        if sql_text.lstrip().startswith("WITH upd AS"):  # the statement that scores
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('jit')")
                seen.append(cursor.fetchone()[0])
        return execute(sql_text, params, many, context)

    # when the store writes
    with connection.execute_wrapper(spy):
        sql.contacts_write(
            scope=Scope.between(0, rescore.LAST_ID), active=active, now=timezone.now(),
            cause="publish",
        )  # fmt: skip
    # then its scoring statement ran with JIT as configured, only inside its own transaction
    assert seen == [expected]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        assert cursor.fetchone()[0] == session
