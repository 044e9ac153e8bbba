"""The readiness floor: a minimal WSGI app that answers `GET /api/v1/accounts/{domain}/readiness`
with one psycopg query (the account and its stored score by domain) and JSON, no framework.

Served by gunicorn like the service's read pool (1 worker × 4 threads) while the same ingest
load runs, it is what a readiness GET cannot beat on this machine: the service's p99 is
reported as a multiple of this one's (`make bench`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

QUERY = (
    "SELECT a.domain, a.is_target, s.status, s.fit, s.engagement, s.computed_at"
    " FROM accounts_account a LEFT JOIN mqa_accountscore s ON s.account_id = a.id"
    " WHERE a.domain = %s"
)
PREFIX, SUFFIX = "/api/v1/accounts/", "/readiness"
_local = threading.local()


def _connection() -> psycopg.Connection[Any]:
    if getattr(_local, "connection", None) is None:
        _local.connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    connection: psycopg.Connection[Any] = _local.connection
    return connection


def application(
    environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any]
) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    row = _connection().execute(QUERY, [path[len(PREFIX) : -len(SUFFIX)]]).fetchone()
    if row is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    body = json.dumps(
        {
            "domain": row[0],
            "is_target": row[1],
            "status": row[2],
            "fit": row[3],
            "engagement": row[4],
            "computed_at": row[5].isoformat() if row[5] else None,
        }
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
