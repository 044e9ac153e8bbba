"""Two clients of PostgreSQL at once: a call runs in a thread of its own until it waits on a
lock the other client holds; then the other commits and the call's answer is returned."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from django.db import connection

T = TypeVar("T")


def someone_waits_on_a_lock(other: psycopg.Connection[Any]) -> bool:
    with psycopg.connect(other.info.dsn, password=other.info.password, autocommit=True) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


def run_while_the_other_commits(other: psycopg.Connection[Any], call: Callable[[], T]) -> T:
    answers: list[T] = []

    def run() -> None:
        try:
            answers.append(call())
        finally:
            connection.close()  # the thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while not someone_waits_on_a_lock(other):
        assert thread.is_alive(), "the call finished without waiting on the other client"
        assert time.monotonic() < deadline, "the call never waited on the other client"
        time.sleep(0.01)
    other.commit()
    thread.join(10)
    (answer,) = answers
    return answer
