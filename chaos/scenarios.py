"""The scenarios (R1–R3, R5, R6): load, faults on a schedule, then the figures.

Each returns `{"name", "title", "seconds", "faults", "figures"}`; `figures` are flat numbers
(and a few samples) that `chaos.report` tabulates and the short run's tests assert on.
Drain is measured from the later of the load's last answer and the last fault's recovery to
the work queue being empty (`GET /api/v1/pipeline` → `pending` 0).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from chaos import faults as f
from chaos.load import Ledger, Send, event, post, run_threads, session_for, steady_events
from chaos.receiver import FlakyReceiver
from chaos.stack import ChaosStack
from chaos.verify import answers_figures, events_figures, logs_figures, payload_of, stored_payloads

# How long a scenario waits for the queue to drain: the short run's tests fail past 60 s
# anyway, and a stuck queue must not eat the time the scenarios after it need.
DRAIN_TIMEOUT = {True: 120.0, False: 300.0}
Scenario = Callable[[ChaosStack, bool], dict[str, Any]]


class Watch:
    """Where the logs stood when a scenario began, and when it began."""

    def __init__(self, stack: ChaosStack) -> None:
        self.stack, self.started = stack, time.monotonic()
        self.logs, self.pg_log = stack.log_sizes(), stack.postgres.log_size()

    def logs_figures(self) -> dict[str, Any]:
        return logs_figures(self.stack, self.logs, self.pg_log)

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 1)


def _drain(stack: ChaosStack, after: float) -> float | None:
    """Seconds from `after` (monotonic) until nothing is pending; None if it never got there
    (then what is still pending goes to the run's output, to say why)."""
    waited = stack.drained(timeout=DRAIN_TIMEOUT[stack.short])
    if waited is None:
        print(f"[chaos] the queue did not drain; still pending: {stack.pending()}", flush=True)
        return None
    return round(time.monotonic() - after, 1)


def _last_answer(ledger: Ledger) -> float:
    return max((a.ended for a in ledger.attempts()), default=time.monotonic())


def _ingest_under_faults(
    stack: ChaosStack, tag: str, seconds: float, schedule: list[tuple[float, str, f.Action]]
) -> tuple[Ledger, f.Faults, dict[str, Any]]:
    ledger, faults = Ledger(), f.Faults(schedule)
    faults.start()
    steady_events(base=stack.base, key=stack.key, ledger=ledger, tag=tag, seconds=seconds)
    faults.join()
    drain = _drain(stack, max(_last_answer(ledger), faults.last_end()))
    figures = {
        **answers_figures(ledger, faults.done),
        **events_figures(stack, ledger),
        "drain_s": drain,
        "fault_errors": faults.errors,
    }
    return ledger, faults, figures


def r1_ingest_under_faults(stack: ChaosStack, short: bool) -> dict[str, Any]:
    """Steady ingest while worker pool processes are killed, Redis is restarted and
    PostgreSQL terminates the app's backends."""
    watch = Watch(stack)
    seconds, period = (24.0, 6.0) if short else (120.0, 10.0)
    cycle = [
        ("kill_workers", f.kill_workers(stack)),
        ("terminate_backends", f.terminate_backends(stack)),
        ("restart_redis", f.restart_redis(stack, down=3.0)),
    ]
    schedule = [
        (3.0 + i * period, *cycle[i % len(cycle)])
        for i in range(int((seconds - 8.0) // period) + 1)
    ]
    ledger, faults, figures = _ingest_under_faults(stack, "r1", seconds, schedule)
    # The last fault: kill -9 the workers in the middle of a batch that no later ingest
    # touches again, so only the lease's expiry (and the sweep) can hand that batch back.
    final = f.Faults([(0.0, "kill_workers_mid_batch", _kill_mid_batch(stack, ledger))])
    final.start()
    final.join()
    faults.done += final.done
    faults.errors += final.errors
    figures |= {
        **answers_figures(ledger, faults.done),
        **events_figures(stack, ledger),
        "drain_s": _drain(stack, final.last_end()),
        "fault_errors": faults.errors,
        **stack.score_check(),
        **watch.logs_figures(),
    }
    return {
        "name": "R1",
        "title": "ingest while workers are killed, Redis restarts, backends are terminated",
        "seconds": watch.seconds(),
        "faults": faults.summary(watch.started),
        "figures": figures,
    }


def _kill_mid_batch(stack: ChaosStack, ledger: Ledger) -> f.Action:
    def act(marks: dict[str, float]) -> str:
        session = session_for(stack.key)
        for b in range(4):
            items = [
                event(email=f"r1k-c{b}-{i}@r1-a{i % 50}.example", id=f"r1k-{b}-{i}")
                for i in range(1000)
            ]
            ledger.add(post(session, stack.base, Send("/api/v1/events/bulk", items)))
        deadline = time.monotonic() + 20
        with stack.postgres.connect() as conn:
            while time.monotonic() < deadline:
                leased = conn.execute(
                    "SELECT count(*) FROM mqa_pendingwork WHERE leased_until > now()"
                ).fetchone()
                if leased and leased[0]:
                    break
                time.sleep(0.02)
        pending = leased[0] if leased else 0
        return f"SIGKILL worker pool processes {stack.kill_worker_children()} with {pending} records leased"

    return act


def _window(ledger: Ledger, fault: f.Fault) -> dict[str, Any]:
    """Answers to the requests made while the dependency was fully down: begun after it had
    stopped and ended before its restart began. Not up to the moment the restart returned:
    PostgreSQL accepts connections a little before `pg_ctl start -w` sees it ready (it looks
    every 100 ms), and a request made in that moment was served by a running database."""
    down = fault.marks.get("down", fault.started)
    up = fault.marks.get("restarting", fault.ended)
    inside = [a for a in ledger.attempts() if a.started >= down and a.ended <= up]
    ok = sum(1 for a in inside if a.status is not None and a.status < 300)
    return {
        "requests_while_down": len(inside),
        "2xx_while_down": ok,
        "2xx_ratio_while_down": round(ok / len(inside), 5) if inside else None,
    }


def r2_dependencies_down(stack: ChaosStack, short: bool) -> dict[str, Any]:
    """PostgreSQL stopped (503s, nothing answered 2xx), then Redis stopped (ingest goes on)."""
    watch = Watch(stack)
    seconds, at, down = (14.0, 4.0, 5.0) if short else (50.0, 10.0, 30.0)
    pg_ledger, pg_faults, pg = _ingest_under_faults(
        stack, "r2pg", seconds, [(at, "postgres_down", f.postgres_down(stack, down=down))]
    )
    pg |= _window(pg_ledger, pg_faults.done[0])
    redis_ledger, redis_faults, rd = _ingest_under_faults(
        stack, "r2redis", seconds, [(at, "redis_down", f.redis_down(stack, down=down))]
    )
    rd |= _window(redis_ledger, redis_faults.done[0])
    figures = {f"pg_{k}": v for k, v in pg.items()} | {f"redis_{k}": v for k, v in rd.items()}
    figures |= {**stack.score_check(), **watch.logs_figures()}
    return {
        "name": "R2",
        "title": "PostgreSQL down, then Redis down, during ingest",
        "seconds": watch.seconds(),
        "faults": pg_faults.summary(watch.started) + redis_faults.summary(watch.started),
        "figures": figures,
    }


def r3_concurrent_duplicates(stack: ChaosStack, short: bool) -> dict[str, Any]:
    """4 clients send the same ids at once, clients 0 and 2 one payload, 1 and 3 another;
    then all of them send everything again."""
    watch = Watch(stack)
    count, clients, batch = (2000, 4, 250)
    base_items = [
        event(email=f"r3-c{n % 100}@r3.example", id=f"r3-{n}", source="r3", ago=120.0)
        for n in range(count)
    ]

    def variant(client: int) -> list[dict[str, Any]]:
        return [
            {**item, "properties": {"url": "/pricing", "variant": client % 2}}
            for item in base_items
        ]

    rounds: list[Ledger] = []
    for _ in range(2):
        ledger, barrier = Ledger(), threading.Barrier(clients)

        def run(client: int, ledger: Ledger = ledger, barrier: threading.Barrier = barrier) -> None:
            session, items = session_for(stack.key), variant(client)
            barrier.wait()
            for start in range(0, count, batch):
                ledger.add(
                    post(
                        session,
                        stack.base,
                        Send("/api/v1/events/bulk", items[start : start + batch]),
                    )
                )

        run_threads(clients, run)
        rounds.append(ledger)
    drain = _drain(stack, max(_last_answer(rounds[-1]), watch.started))
    stored = stored_payloads(stack, [i["id"] for i in base_items])
    stored = {k: v for k, v in stored.items() if k[0] == "r3"}
    unreported = false_conflicts = miscounted = 0
    accepted = [0, 0]
    for number, ledger in enumerate(rounds):
        for send in ledger.sends:
            answer = send.answer
            if answer is None:
                continue
            conflicted = send.conflicted()
            accepted[number] += int(answer.body.get("accepted", 0))
            equal = 0
            for index, item in enumerate(send.items):
                same = stored.get(("r3", item["id"])) == payload_of(item)
                equal += same
                unreported += int(not same and index not in conflicted)
                false_conflicts += int(same and index in conflicted)
            counted = answer.body.get("accepted", 0) + answer.body.get("duplicates", 0)
            miscounted += int(counted != equal)
    all_sends = Ledger(sends=rounds[0].sends + rounds[1].sends)
    figures = {
        **answers_figures(all_sends, []),
        "ids": count,
        "sends": clients * 2 * count,
        "stored": len(stored),
        "accepted_round1": accepted[0],
        "accepted_round2": accepted[1],
        "conflicts_answered": sum(len(s.conflicted()) for s in all_sends.sends),
        "unreported_conflicts": unreported,
        "false_conflicts": false_conflicts,
        "miscounted_answers": miscounted,
        "drain_s": drain,
        **stack.score_check(),
        **watch.logs_figures(),
    }
    return {
        "name": "R3",
        "title": "4 clients, the same 2,000 event ids at once, two payload variants",
        "seconds": watch.seconds(),
        "faults": [],
        "figures": figures,
    }


ROLES = [
    "decision_maker",
    "champion",
    "influencer",
    "user",
    "economic_buyer",
    "technical_evaluator",
]


def r5_one_account(stack: ChaosStack, short: bool) -> dict[str, Any]:
    """50 contacts of one account, 4 senders at once upserting them (each in its own order)
    and sending their events."""
    watch = Watch(stack)
    seconds, senders, domain = (8.0 if short else 45.0), 4, "r5.example"
    ledger = Ledger()
    session = session_for(stack.key)
    ledger.add(
        post(
            session,
            stack.base,
            Send(
                "/api/v1/accounts/bulk",
                [{"domain": domain, "employee_count": 1200, "industry": "software"}],
            ),
        )
    )
    stop = time.monotonic() + seconds

    def run(n: int) -> None:
        session, rng, round_ = session_for(stack.key), random.Random(n), 0
        emails = [f"p{i}@{domain}" for i in range(50)]
        while time.monotonic() < stop:
            round_ += 1
            rng.shuffle(emails)
            contacts = [
                {
                    "email": email,
                    "seniority": "vp" if int(email[1:].split("@")[0]) % 3 == 0 else "director",
                    "buying_role": ROLES[int(email[1:].split("@")[0]) % len(ROLES)],
                    "title": f"t{n}-{round_}",
                }
                for email in emails
            ]
            ledger.add(post(session, stack.base, Send("/api/v1/contacts/bulk", contacts)))
            items = [
                event(
                    email=emails[(k * 7) % 50],
                    id=f"r5-{n}-{round_}-{k}",
                    type="demo_request" if k % 10 == 0 else "page_view",
                    ago=float(k),
                )
                for k in range(100)
            ]
            ledger.add(post(session, stack.base, Send("/api/v1/events/bulk", items)))

    run_threads(senders, run)
    drain = _drain(stack, _last_answer(ledger))
    checked = stack.score_check(account_domains=[domain])
    figures = {
        **answers_figures(ledger, []),
        **events_figures(stack, ledger),
        "drain_s": drain,
        **checked,
        **watch.logs_figures(),
    }
    return {
        "name": "R5",
        "title": "50 contacts of one account, 4 concurrent senders",
        "seconds": watch.seconds(),
        "faults": [],
        "figures": figures,
    }


def _webhook_rows(stack: ChaosStack) -> list[tuple[str, str, int, float]]:
    """Each delivery: its id, status, attempts, and seconds until its next attempt."""
    with stack.postgres.connect() as conn:
        return list(
            conn.execute(
                "SELECT webhook_id, status, attempts,"
                " extract(epoch FROM next_attempt_at - now())::float FROM mqa_webhookdelivery"
            ).fetchall()
        )


def r6_flaky_receiver(stack: ChaosStack, short: bool) -> dict[str, Any]:
    """Status changes announced to a receiver that fails 30 %, is slow 8 % and goes down."""
    watch = Watch(stack)
    flaky_s, down_s, after_s, wait_s = (
        (4.0, 10.0, 2.0, 90.0) if short else (30.0, 120.0, 10.0, 240.0)
    )
    receiver = FlakyReceiver()
    receiver.start()
    receiver.secret = stack.subscribe(receiver.url)
    session, ledger, emitted = session_for(stack.key), Ledger(), [0]
    domains = [f"r6-a{i}.example" for i in range(8)]
    ledger.add(
        post(session, stack.base, Send("/api/v1/accounts/bulk", [{"domain": d} for d in domains]))
    )

    def emit(seconds: float, every: float) -> None:
        """A new contact with a demo request every `every` s: a status change to announce."""
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            n = emitted[0] = emitted[0] + 1
            item = event(
                email=f"w{n}@{domains[n % len(domains)]}",
                id=f"r6-{n}",
                type="demo_request",
                ago=5.0,
            )
            ledger.add(post(session, stack.base, Send("/api/v1/events/bulk", [item])))
            time.sleep(every)

    emit(flaky_s, 0.5)
    receiver.stop()
    down_at = time.monotonic()
    emit(down_s, 2.5 if short else 5.0)
    receiver.start()
    back_at = time.monotonic()
    emit(after_s, 0.5)
    drain = _drain(stack, _last_answer(ledger))
    deadline, delivered_s = time.monotonic() + wait_s, None
    while time.monotonic() < deadline:
        rows = _webhook_rows(stack)
        if (
            rows
            and all(r[1] == "delivered" for r in rows)
            and {r[0] for r in rows} <= receiver.delivered()
        ):
            delivered_s = round(time.monotonic() - back_at, 1)
            break
        time.sleep(0.5)
    rows = _webhook_rows(stack)
    ids = {r[0] for r in rows}
    got = receiver.figures()
    figures = {
        **answers_figures(ledger, []),
        **events_figures(stack, ledger),
        "drain_s": drain,
        "emitted": len(rows),
        "delivered": sum(1 for r in rows if r[1] == "delivered"),
        "dead": sum(1 for r in rows if r[1] == "dead"),
        "pending_at_end": sum(1 for r in rows if r[1] == "pending"),
        "not_received": len(ids - receiver.delivered()),
        "received_unknown": len(receiver.delivered() - ids),
        "max_attempts": max((r[2] for r in rows), default=0),
        "pending_next_attempt_in_s": round(
            max((r[3] for r in rows if r[1] == "pending"), default=0.0), 1
        ),
        "over_10_attempts": sum(1 for r in rows if r[2] > 10),
        "receiver_down_s": round(back_at - down_at, 1),
        "waited_after_return_s": round(time.monotonic() - back_at, 1),
        "all_delivered_after_return_s": delivered_s,
        **{f"receiver_{k}": v for k, v in got.items()},
        **watch.logs_figures(),
    }
    receiver.stop()
    return {
        "name": "R6",
        "title": "webhooks to a receiver failing 30 %, slow 8 %, down for a while",
        "seconds": watch.seconds(),
        "faults": [
            {
                "fault": "receiver down",
                "at_s": round(down_at - watch.started, 1),
                "lasted_s": round(back_at - down_at, 1),
                "detail": "not listening (connection refused)",
            }
        ],
        "figures": figures,
    }


SCENARIOS: dict[str, Scenario] = {
    "R1": r1_ingest_under_faults,
    "R2": r2_dependencies_down,
    "R3": r3_concurrent_duplicates,
    "R5": r5_one_account,
    "R6": r6_flaky_receiver,
}
