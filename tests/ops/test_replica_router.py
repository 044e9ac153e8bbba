"""The replica router and its middleware, without a replica: which requests read from it,
that writes never do, and that a replica that cannot be reached sends reads to the primary.
The routing against a real streaming replica: tests/integration/test_replica.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db.utils import ConnectionHandler
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from accounts.models import Account
from mqa.models import ApiKey, ContactScore, Handoff
from mqa.ops import replica
from mqa.ops.replica import READ_FROM_REPLICA, ReplicaMiddleware, ReplicaRouter

ROOT = Path(__file__).resolve().parents[2]
router = ReplicaRouter()


@pytest.fixture
def replica_at(monkeypatch: pytest.MonkeyPatch, django_db_blocker) -> Iterator[object]:
    """Point the middleware at a real (SQLite) `replica` connection given by its NAME."""
    handlers: list[ConnectionHandler] = []

    def use(name: str) -> None:
        sqlite = "django.db.backends.sqlite3"
        handler = ConnectionHandler(
            {
                "default": {"ENGINE": sqlite, "NAME": ":memory:"},
                "replica": {"ENGINE": sqlite, "NAME": name},
            }
        )
        handlers.append(handler)
        monkeypatch.setattr(replica, "connections", handler)

    monkeypatch.setattr(replica, "_down_until", 0.0)
    with django_db_blocker.unblock():  # these connections only: the test database is not used
        yield use
    for handler in handlers:
        handler.close_all()


def seen_by_view(request: HttpRequest) -> bool:
    """Whether the view of this request reads from the replica."""
    seen: list[bool] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(READ_FROM_REPLICA.get())
        return HttpResponse()

    ReplicaMiddleware(view)(request)
    return seen[0]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/api/v1/accounts", True),
        ("get", "/api/v1/accounts/acme.com/readiness", True),
        ("head", "/api/v1/contacts/7", True),
        ("get", "/api/v1/handoffs", True),
        ("get", "/api/v1/pipeline", True),
        ("get", "/review/", True),
        ("get", "/review/accounts/acme.com/", True),
        ("post", "/api/v1/accounts/bulk", False),
        ("put", "/api/v1/routing", False),
        ("post", "/review/handoffs/3/accept", False),
        ("options", "/api/v1/accounts", False),
        ("get", "/admin/mqa/contactscore/", False),
        ("get", "/v1/identify", False),
        ("get", "/readyz", False),
        ("get", "/api/schema/", False),
    ],
)
def test_it_reads_from_the_replica_only_for_gets_of_read_paths(replica_at, method, path, expected):
    replica_at(":memory:")

    assert seen_by_view(getattr(RequestFactory(), method)(path)) is expected
    assert READ_FROM_REPLICA.get() is False  # reset once the request is served


def test_a_replica_that_cannot_be_reached_sends_reads_to_the_primary_for_a_while(
    replica_at, tmp_path, monkeypatch, caplog
):
    replica_at(str(tmp_path / "no-such-directory" / "db.sqlite3"))
    now = [100.0]
    monkeypatch.setattr(replica, "clock", lambda: now[0])

    assert seen_by_view(RequestFactory().get("/api/v1/accounts")) is False
    assert "replica unavailable" in caplog.text

    # Back within the retry delay: not even tried (no connection attempt, no log line).
    replica_at(":memory:")
    caplog.clear()
    now[0] += replica.RETRY_SECONDS - 0.1
    assert seen_by_view(RequestFactory().get("/api/v1/accounts")) is False
    assert caplog.text == ""

    now[0] += 0.2
    assert seen_by_view(RequestFactory().get("/api/v1/accounts")) is True


def test_reads_of_a_replica_read_go_to_the_replica_and_writes_never_do():
    token = READ_FROM_REPLICA.set(True)
    try:
        reads = {model: router.db_for_read(model) for model in (Account, ContactScore, Handoff)}
        writes = {model: router.db_for_write(model) for model in (Account, ContactScore, ApiKey)}
    finally:
        READ_FROM_REPLICA.reset(token)

    assert reads == {Account: "replica", ContactScore: "replica", Handoff: "replica"}
    assert writes == {Account: "default", ContactScore: "default", ApiKey: "default"}


def test_who_is_asking_is_read_from_the_primary_even_during_a_replica_read():
    token = READ_FROM_REPLICA.set(True)
    try:
        reads = [router.db_for_read(model) for model in (ApiKey, Session, User)]
    finally:
        READ_FROM_REPLICA.reset(token)

    assert reads == ["default", "default", "default"]


def test_outside_a_replica_read_everything_is_on_the_primary():
    assert [router.db_for_read(model) for model in (Account, ContactScore, Handoff)] == [
        "default",
        "default",
        "default",
    ]


def test_migrations_run_on_the_primary_only_and_relations_span_both():
    assert router.allow_migrate("default", "mqa") is True
    assert router.allow_migrate("replica", "mqa") is False
    assert router.allow_relation(Account(), Handoff()) is True


def settings_with(**env: str) -> dict[str, object]:
    """The settings a process started with this environment would have."""
    script = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps({'databases': sorted(s.DATABASES), 'routers': s.DATABASE_ROUTERS, "
        "'middleware': s.MIDDLEWARE[:3], 'replica': s.DATABASES.get('replica')}, default=str))"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_REPLICA_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_without_a_replica_url_no_router_or_middleware_is_installed():
    found = settings_with(DJANGO_SECRET_KEY="x")

    assert found["databases"] == ["default"]
    assert found["routers"] == []
    assert "mqa.ops.replica.ReplicaMiddleware" not in found["middleware"]  # type: ignore[operator]


def test_a_replica_url_adds_the_alias_router_and_middleware():
    found = settings_with(
        DJANGO_SECRET_KEY="x",
        DATABASE_URL="postgres://app@primary.internal:5432/mqa",
        DATABASE_REPLICA_URL="postgres://reader:pw@replica.internal:5433/mqa",
        DATABASE_CONN_MAX_AGE="30",
    )
    replica_settings = found["replica"]
    assert isinstance(replica_settings, dict)

    assert found["databases"] == ["default", "replica"]
    assert found["routers"] == ["mqa.ops.replica.ReplicaRouter"]
    assert found["middleware"] == [
        "mqa.ops.middleware.RequestMiddleware",
        "mqa.ops.middleware.ProblemMiddleware",
        "mqa.ops.replica.ReplicaMiddleware",
    ]
    assert {
        key: replica_settings[key]
        for key in ("HOST", "PORT", "NAME", "USER", "PASSWORD", "CONN_MAX_AGE")
    } == {
        "HOST": "replica.internal",
        "PORT": 5433,
        "NAME": "mqa",
        "USER": "reader",
        "PASSWORD": "pw",
        "CONN_MAX_AGE": 30,
    }
    assert replica_settings["CONN_HEALTH_CHECKS"] is True
    assert replica_settings["TEST"] == {"MIRROR": "default"}
    assert replica_settings["OPTIONS"] == {"connect_timeout": 3}
