"""The load: threads posting bulk bodies and recording every answer.

A body that gets no 2xx (a 5xx, a dropped connection) is sent again, unchanged, until it is
answered or the sender's patience runs out, as a client with an at-least-once outbox does;
a re-sent event the service had already stored comes back as a duplicate, never as a second
row. Every attempt is kept with its start and end time, so the figures can tell the answers
given while a fault was happening from the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import requests

ENCODE = msgspec.json.Encoder().encode


@dataclass
class Attempt:
    started: float
    ended: float
    status: int | None  # None: no HTTP answer (connection refused or dropped)
    body: dict[str, Any]


@dataclass
class Send:
    """One bulk body and its attempts, the last of which is its answer."""

    path: str
    items: list[dict[str, Any]]
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def answer(self) -> Attempt | None:
        last = self.attempts[-1] if self.attempts else None
        return last if last is not None and last.status is not None and last.status < 300 else None

    def conflicted(self) -> set[int]:
        answer = self.answer
        return {c["index"] for c in answer.body.get("conflicts", [])} if answer else set()


@dataclass
class Ledger:
    sends: list[Send] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, send: Send) -> None:
        with self.lock:
            self.sends.append(send)

    def attempts(self) -> Iterator[Attempt]:
        for send in self.sends:
            yield from send.attempts


def session_for(key: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Authorization": f"Api-Key {key}", "Content-Type": "application/json"})
    return session


def post(
    session: requests.Session,
    base: str,
    send: Send,
    *,
    patience: float = 120.0,
    retry: bool = True,
) -> Send:
    """POST `send` until a 2xx or a 4xx answers it, or `patience` seconds have passed."""
    body = ENCODE({"items": send.items})
    give_up = time.monotonic() + patience
    while True:
        started = time.monotonic()
        status: int | None
        try:
            response = session.post(f"{base}{send.path}", data=body, timeout=60)
            status = response.status_code
            try:
                answer = response.json() if response.content else {}
            except ValueError:
                answer = {"text": response.text[:500]}
        except requests.RequestException as error:
            status, answer = None, {"error": str(error)[:500]}
        send.attempts.append(Attempt(started, time.monotonic(), status, answer))
        if (status is not None and status < 500) or not retry or time.monotonic() > give_up:
            return send
        time.sleep(0.5)  # sooner than the 503's Retry-After: the run wants pressure


def event(
    *,
    email: str,
    id: str,
    source: str = "chaos",
    type: str = "page_view",
    properties: dict[str, Any] | None = None,
    ago: float = 60.0,
) -> dict[str, Any]:
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=ago)
    return {
        "email": email,
        "type": type,
        "occurred_at": occurred.isoformat(),
        "properties": properties if properties is not None else {"url": "/pricing"},
        "source": source,
        "id": id,
    }


def run_threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def steady_events(
    *,
    base: str,
    key: str,
    ledger: Ledger,
    tag: str,
    seconds: float,
    threads: int = 4,
    batch: int = 200,
    contacts: int = 500,
    accounts: int = 50,
    pause: float = 0.05,
) -> None:
    """`threads` senders posting batches of unique events for `seconds` (with retries), to
    contacts of `accounts` accounts created first (so that account rollups run too)."""
    domains = [{"domain": f"{tag}-a{j}.example", "employee_count": 500} for j in range(accounts)]
    ledger.add(post(session_for(key), base, Send("/api/v1/accounts/bulk", domains)))
    stop = time.monotonic() + seconds

    def run(n: int) -> None:
        session = session_for(key)
        seq = 0
        while time.monotonic() < stop:
            items = []
            for _ in range(batch):
                seq += 1
                i = (n * 7919 + seq * 31) % contacts
                items.append(
                    event(
                        email=f"{tag}-c{i}@{tag}-a{i % accounts}.example",
                        id=f"{tag}-{n}-{seq}",
                        properties={"url": "/pricing" if seq % 3 else "/product/x"},
                        ago=float(seq % 3600),
                    )
                )
            ledger.add(post(session, base, Send("/api/v1/events/bulk", items)))
            time.sleep(pause)

    run_threads(threads, run)
