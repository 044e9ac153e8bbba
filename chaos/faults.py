"""Faults on a schedule, from a thread of their own, each recorded with when it began and when
the service's dependency was back (`Fault.started`, `Fault.ended`, monotonic seconds)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos.stack import ChaosStack

Action = Callable[[dict[str, float]], str]


@dataclass
class Fault:
    name: str
    started: float
    ended: float
    detail: str
    # When the dependency was fully down and when it answered again (for the outages).
    marks: dict[str, float] = field(default_factory=dict)


@dataclass
class Faults:
    """`schedule`: (seconds after `start()`, name, action); an action puts the moments it went
    down, when its restart began and when it was back into the dict it is given ("down",
    "restarting", "up") and returns a description."""

    schedule: list[tuple[float, str, Action]]
    done: list[Fault] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> Faults:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def _run(self) -> None:
        origin = time.monotonic()
        for at, name, action in sorted(self.schedule, key=lambda s: s[0]):
            time.sleep(max(0.0, origin + at - time.monotonic()))
            started, marks = time.monotonic(), dict[str, float]()
            try:
                detail = action(marks)
            except Exception as error:  # a fault that could not be injected is a finding too
                self.errors.append(f"{name}: {error!r}")
                detail = f"failed: {error!r}"
            self.done.append(Fault(name, started, time.monotonic(), detail, marks))

    def last_end(self) -> float:
        return max((f.ended for f in self.done), default=0.0)

    def summary(self, origin: float) -> list[dict[str, Any]]:
        return [
            {
                "fault": f.name,
                "at_s": round(f.started - origin, 1),
                "lasted_s": round(f.ended - f.started, 1),
                "detail": f.detail,
            }
            for f in self.done
        ]


def kill_workers(stack: ChaosStack) -> Action:
    def act(marks: dict[str, float]) -> str:
        return f"SIGKILL worker pool processes {stack.kill_worker_children()}"

    return act


def _outage(stop: Callable[[], None], start: Callable[[], None], down: float, how: str) -> Action:
    def act(marks: dict[str, float]) -> str:
        stop()
        marks["down"] = time.monotonic()
        time.sleep(down)
        marks["restarting"] = time.monotonic()
        start()
        marks["up"] = time.monotonic()
        return how.format(down=down)

    return act


def restart_redis(stack: ChaosStack, *, down: float) -> Action:
    """redis-server SIGKILL (what it queued is lost: no persistence), then started again."""
    how = "redis-server SIGKILL, {down:.0f} s down, started again (its queue is lost)"
    return _outage(stack.redis.kill, stack.redis.start, down, how)


def redis_down(stack: ChaosStack, *, down: float) -> Action:
    """redis-server stopped (SIGTERM), then started again."""
    how = "redis-server stopped (SIGTERM), {down:.0f} s down, started again"
    return _outage(stack.redis.stop, stack.redis.start, down, how)


def postgres_down(stack: ChaosStack, *, down: float) -> Action:
    """`pg_ctl stop -m fast`, then `pg_ctl start`."""
    how = "`pg_ctl stop -m fast`, {down:.0f} s down, `pg_ctl start`"
    return _outage(stack.postgres.stop, stack.postgres.start, down, how)


def terminate_backends(stack: ChaosStack) -> Action:
    def act(marks: dict[str, float]) -> str:
        return f"pg_terminate_backend of {stack.postgres.terminate_backends()} app backends"

    return act
