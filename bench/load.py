"""The load process: drives the running stack over HTTP and prints JSON results.

`python -m bench.load '{"mode": ..., ...}'` — run as its own process so that the load does
not share a Python interpreter (or its GIL) with the service under test.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import requests

ENCODE = msgspec.json.Encoder().encode


def _session(key: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Api-Key {key}", "Content-Type": "application/json"})
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
    session.mount("http://", adapter)
    return session


def _batch(
    contacts: int, accounts: int, size: int, tag: str, rng_state: list[int]
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    items = []
    for _ in range(size):
        rng_state[0] = (rng_state[0] * 1103515245 + 12345) % 2**31
        i = 1 + rng_state[0] % contacts
        account = (i - 1) % accounts + 1
        items.append(
            {
                "email": f"c{i}@acct{account}.example",
                "type": "page_view",
                "occurred_at": (now - timedelta(seconds=rng_state[0] % 3600)).isoformat(),
                "properties": {"url": "/pricing" if rng_state[0] % 4 == 0 else "/product/scoring"},
                "source": "load",
                "id": f"{tag}-{uuid.uuid4().hex}",
            }
        )
    return items


def _tracking_batch(
    contacts: int, accounts: int, size: int, tag: str, rng_state: list[int]
) -> dict[str, Any]:
    """The same events as `_batch`, as Segment `track` messages carrying their email."""
    return {
        "batch": [
            {
                "type": "track",
                "messageId": item["id"],
                "userId": item["email"],
                "event": "Page View",
                "timestamp": item["occurred_at"],
                "properties": item["properties"],
                "context": {"traits": {"email": item["email"]}},
            }
            for item in _batch(contacts, accounts, size, tag, rng_state)
        ]
    }


def ingest(
    base: str,
    key: str,
    contacts: int,
    accounts: int,
    seconds: float,
    rate: float | None,
    threads: int,
    api: str = "bulk",
) -> dict[str, Any]:
    """Post batches of 1000 events for `seconds`, as fast as possible or at `rate` events/s;
    `api="tracking"` sends them as Segment `track` messages to `/v1/batch`."""
    stop = time.monotonic() + seconds
    sent = [0]
    errors = [0]
    lock = threading.Lock()
    per_thread = None if rate is None else rate / threads

    def run(n: int) -> None:
        session = _session(key)
        state = [n * 7919 + 1]
        size = 1000 if per_thread is None or per_thread >= 1000 else max(1, int(per_thread / 4))
        next_at = time.monotonic()
        while time.monotonic() < stop:
            if api == "tracking":
                body = ENCODE(_tracking_batch(contacts, accounts, size, f"t{n}", state))
                response = session.post(f"{base}/v1/batch", data=body, timeout=60)
            else:
                body = ENCODE({"items": _batch(contacts, accounts, size, f"l{n}", state)})
                response = session.post(f"{base}/api/v1/events/bulk", data=body, timeout=60)
            with lock:
                if response.status_code in (200, 202):
                    sent[0] += size
                else:
                    errors[0] += 1
            if per_thread is not None:
                next_at += size / per_thread
                time.sleep(max(0.0, next_at - time.monotonic()))

    started = time.monotonic()
    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    return {"events": sent[0], "seconds": elapsed, "rate": sent[0] / elapsed, "errors": errors[0]}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")
    )


def _probe(api: str, contact: int, account: int) -> tuple[str, bytes]:
    """One demo request for the contact, as a bulk item or a Segment `track` message."""
    email, at, id_ = (
        f"c{contact}@acct{account}.example",
        datetime.now(UTC).isoformat(),
        f"probe-{uuid.uuid4().hex}",
    )
    if api == "tracking":
        message = {
            "type": "track",
            "messageId": id_,
            "userId": email,
            "event": "Demo Request",
            "timestamp": at,
            "context": {"traits": {"email": email}},
        }
        return "/v1/batch", ENCODE({"batch": [message]})
    item = {"email": email, "type": "demo_request", "occurred_at": at, "id": id_}
    return "/api/v1/events/bulk", ENCODE({"items": [item]})


def freshness(
    base: str, key: str, contacts: int, accounts: int, seconds: float, probes: int, api: str
) -> dict[str, Any]:
    """While ingest runs at 1,000 events/s through `api` (bulk or tracking), time ingest 2xx →
    readiness computed after it."""
    background = threading.Thread(
        target=ingest, args=(base, key, contacts, accounts, seconds, 1000.0, 2, api)
    )
    background.start()
    session = _session(key)
    latencies = []
    time.sleep(1.0)
    for n in range(probes):
        account = 1 + (n * 37) % accounts
        contact = account  # contact i belongs to account (i-1) % accounts + 1
        path, body = _probe(api, contact, account)
        response = session.post(f"{base}{path}", data=body, timeout=30)
        accepted = datetime.now(UTC)
        t0 = time.monotonic()
        assert response.status_code in (200, 202), response.text
        while True:
            readiness = session.get(
                f"{base}/api/v1/accounts/acct{account}.example/readiness", timeout=30
            ).json()
            computed = readiness.get("computed_at")
            if computed and datetime.fromisoformat(
                computed.replace("Z", "+00:00")
            ) >= accepted - timedelta(milliseconds=50):
                latencies.append(time.monotonic() - t0)
                break
            if time.monotonic() - t0 > 60:
                latencies.append(float("inf"))
                break
            time.sleep(0.02)
        time.sleep(max(0.0, seconds / probes - (time.monotonic() - t0)))
    background.join()
    finite = [x for x in latencies if x != float("inf")]
    return {
        "probes": len(latencies),
        "p50": _percentile(finite, 0.5),
        "p95": _percentile(latencies, 0.95),
        "max": max(latencies),
    }


def readiness(
    base: str,
    reads: str,
    key: str,
    contacts: int,
    accounts: int,
    seconds: float,
    rate: float,
    ingest_rate: float,
) -> dict[str, Any]:
    """GET readiness at `rate` requests/s while ingest runs at `ingest_rate` events/s.

    The ingest load runs in a process of its own: building 1000-event bodies in this one
    would hold the interpreter lock while readers wait to time their responses.
    """
    background = multiprocessing.get_context("spawn").Process(
        target=ingest, args=(base, key, contacts, accounts, seconds + 2, ingest_rate, 3)
    )
    background.start()
    time.sleep(1.0)
    latencies: list[float] = []
    lock = threading.Lock()
    threads = 8
    stop = time.monotonic() + seconds

    def run(n: int) -> None:
        session = _session(key)
        interval = threads / rate
        next_at = time.monotonic()
        i = n
        while time.monotonic() < stop:
            i += threads
            t0 = time.monotonic()
            response = session.get(
                f"{reads}/api/v1/accounts/acct{1 + (i * 7) % accounts}.example/readiness",
                timeout=30,
            )
            elapsed = time.monotonic() - t0
            if response.status_code == 200:
                with lock:
                    latencies.append(elapsed)
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    background.join()
    return {
        "requests": len(latencies),
        "rate": len(latencies) / seconds,
        "p50_ms": 1000 * _percentile(latencies, 0.5),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
    }


def main() -> None:
    args = json.loads(sys.argv[1])
    mode = args.pop("mode")
    result = {"ingest": ingest, "freshness": freshness, "readiness": readiness}[mode](**args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
