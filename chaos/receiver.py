"""A webhook receiver that misbehaves: answers 500 to 30 % of the deliveries, answers 8 % only
after the sender's timeout, and can be down (not listening) for a while.

Each POST is recorded with how it was answered: `ok` (2xx in time), `fail` (500) or `slow`
(2xx after the sender gave up, so the sender must try again: a redelivery of a slow id is
at-least-once working, not a duplicate). A duplicate is an id answered `ok` twice.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Hit:
    webhook_id: str
    answered: str  # ok | fail | slow
    signed: bool
    at: float


@dataclass
class FlakyReceiver:
    secret: str = ""
    fail: float = 0.30
    slow: float = 0.08
    slow_seconds: float = 3.0
    seed: int = 6
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> FlakyReceiver:
        receiver, rng = self, random.Random(self.seed)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    draw = rng.random()
                answered = (
                    "fail"
                    if draw < receiver.fail
                    else "slow"
                    if draw < receiver.fail + receiver.slow
                    else "ok"
                )
                try:
                    Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                    signed = True
                except Exception:
                    signed = False
                if answered == "slow":
                    time.sleep(receiver.slow_seconds)
                hit = Hit(self.headers.get("webhook-id", ""), answered, signed, time.monotonic())
                with receiver.lock:
                    receiver.hits.append(hit)
                try:
                    self.send_response(500 if answered == "fail" else 204)
                    self.end_headers()
                except OSError:  # the sender hung up (it timed out)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port stops listening (connections are refused) until `start()`."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def delivered(self) -> set[str]:
        with self.lock:
            return {h.webhook_id for h in self.hits if h.answered == "ok"}

    def figures(self) -> dict[str, int]:
        with self.lock:
            hits = list(self.hits)
        ok = Counter(h.webhook_id for h in hits if h.answered == "ok")
        slow = {h.webhook_id for h in hits if h.answered == "slow"}
        return {
            "requests": len(hits),
            "answered_ok": sum(ok.values()),
            "answered_500": sum(1 for h in hits if h.answered == "fail"),
            "answered_slow": sum(1 for h in hits if h.answered == "slow"),
            "bad_signatures": sum(1 for h in hits if not h.signed),
            "ids_delivered": len(ok),
            "duplicates": sum(n - 1 for n in ok.values() if n > 1),
            "redelivered_after_slow": sum(1 for i in slow if i in ok),
        }
