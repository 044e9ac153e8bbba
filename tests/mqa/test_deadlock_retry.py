"""A transaction PostgreSQL aborts as a deadlock victim is run again, whole, once it is safe."""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError, transaction

from accounts.models import Account
from mqa.ingest import DEADLOCK_ATTEMPTS, deadlock_retried


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
    service, calls = flaky(DEADLOCK_ATTEMPTS - 1)

    assert deadlock_retried(service) == "stored"

    assert len(calls) == DEADLOCK_ATTEMPTS
    assert list(Account.objects.values_list("domain", flat=True)) == [f"try{DEADLOCK_ATTEMPTS}.io"]


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_after_the_last_attempt_and_stores_nothing():
    service, calls = flaky(DEADLOCK_ATTEMPTS)

    with pytest.raises(OperationalError):
        deadlock_retried(service)

    assert len(calls) == DEADLOCK_ATTEMPTS
    assert not Account.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_other_database_errors_are_not_retried():
    service, calls = flaky(1, error=lambda: OperationalError("server closed the connection"))

    with pytest.raises(OperationalError):
        deadlock_retried(service)

    assert len(calls) == 1
    assert not Account.objects.exists()


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_caller_must_retry():
    service, calls = flaky(1)

    with pytest.raises(OperationalError):
        deadlock_retried(service)

    assert len(calls) == 1
