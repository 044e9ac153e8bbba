"""What the answers said against what the database holds, after a scenario.

* lost: ids of an event the service answered 2xx for (accepted or duplicate, not a conflict)
  that are not stored — must be 0;
* duplicated: (source, id) keys stored more than once — impossible by the unique constraint,
  counted anyway;
* mismatched: stored events whose payload is not the one a 2xx answer was given for;
* 5xx and dropped connections, split by the fault they overlapped: PostgreSQL stopped
  (`pg_down`), a backend terminated under the request (`terminated`), or none (`other`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from chaos.faults import Fault
from chaos.load import Attempt, Ledger
from chaos.stack import ChaosStack


def _overlaps(attempt: Attempt, start: float, end: float) -> bool:
    return attempt.started <= end and attempt.ended >= start


def _cause(attempt: Attempt, faults: list[Fault]) -> str:
    for kind, label in (("postgres_down", "pg_down"), ("terminate_backends", "terminated")):
        if any(f.name == kind and _overlaps(attempt, f.started, f.ended) for f in faults):
            return label
    return "other"


def answers_figures(ledger: Ledger, faults: list[Fault]) -> dict[str, Any]:
    """Counts of the answers, over every attempt of every send."""
    attempts = list(ledger.attempts())
    failed: Counter[str] = Counter()
    for attempt in attempts:
        if attempt.status is None or attempt.status >= 500:
            kind = "5xx" if attempt.status is not None else "no_answer"
            failed[f"{kind}_{_cause(attempt, faults)}"] += 1
    figures: dict[str, Any] = {
        "requests": len(attempts),
        "2xx": sum(1 for a in attempts if a.status is not None and a.status < 300),
        "4xx": sum(1 for a in attempts if a.status is not None and 400 <= a.status < 500),
        "5xx": sum(1 for a in attempts if a.status is not None and a.status >= 500),
        "no_answer": sum(1 for a in attempts if a.status is None),
        "unanswered_sends": sum(1 for s in ledger.sends if s.answer is None),
        "slowest_answer_s": round(max((a.ended - a.started for a in attempts), default=0.0), 2),
    }
    for cause in ("pg_down", "terminated", "other"):
        figures[f"5xx_{cause}"] = failed[f"5xx_{cause}"]
        figures[f"no_answer_{cause}"] = failed[f"no_answer_{cause}"]
    samples = [
        a.body
        for a in attempts
        if (a.status is None or a.status >= 400) and _cause(a, faults) == "other"
    ]
    figures["failure_samples"] = samples[:3]
    return figures


def _stored_events(stack: ChaosStack, ids: list[str]) -> list[tuple[Any, ...]]:
    with stack.postgres.connect() as conn:
        return list(
            conn.execute(
                "SELECT e.source, e.external_id, c.email, e.type, e.occurred_at, e.properties"
                " FROM contacts_engagementevent e JOIN contacts_contact c ON c.id = e.contact_id"
                " WHERE e.external_id = ANY(%s)",
                [ids],
            ).fetchall()
        )


def _payload(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["email"],
        item["type"],
        datetime.fromisoformat(item["occurred_at"]),
        item.get("properties", {}),
    )


def events_figures(stack: ChaosStack, ledger: Ledger) -> dict[str, Any]:
    """The events of the ledger's sends against the stored rows (ids unique to the scenario)."""
    sends = [s for s in ledger.sends if s.path == "/api/v1/events/bulk"]
    sent: dict[tuple[str, str], list[dict[str, Any]]] = {}
    answered: dict[tuple[str, str], dict[str, Any]] = {}  # 2xx and not a conflict
    reported_conflicts = 0
    accepted = duplicates = miscounted = 0
    for send in sends:
        conflicted = send.conflicted()
        answer = send.answer
        if answer is not None:
            accepted += int(answer.body.get("accepted", 0))
            duplicates += int(answer.body.get("duplicates", 0))
            reported_conflicts += len(conflicted)
            counted = answer.body.get("accepted", 0) + answer.body.get("duplicates", 0)
            miscounted += int(counted + len(conflicted) != len(send.items))
        for index, item in enumerate(send.items):
            key = (item.get("source", "api"), item["id"])
            sent.setdefault(key, []).append(item)
            if answer is not None and index not in conflicted:
                answered[key] = item
    rows = _stored_events(stack, sorted({k[1] for k in sent}))
    rows = [r for r in rows if (r[0], r[1]) in sent]
    per_key = Counter((r[0], r[1]) for r in rows)
    stored = {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in rows}
    return {
        "sent": len(sent),
        "accepted": accepted,
        "duplicates_answered": duplicates,
        "conflicts_answered": reported_conflicts,
        "miscounted_answers": miscounted,
        "stored": len(stored),
        "lost": sum(1 for key in answered if key not in stored),
        "duplicated": sum(1 for n in per_key.values() if n > 1),
        "mismatched": sum(
            1 for key, item in answered.items() if key in stored and stored[key] != _payload(item)
        ),
        "stored_without_2xx": sum(1 for key in stored if key not in answered),
    }


def stored_payloads(stack: ChaosStack, ids: list[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in _stored_events(stack, ids)}


def payload_of(item: dict[str, Any]) -> tuple[Any, ...]:
    return _payload(item)


def logs_figures(stack: ChaosStack, since: dict[str, int], pg_since: int) -> dict[str, Any]:
    """Deadlocks and errors the worker, web and PostgreSQL logs show since the scenario began."""
    worker = stack.log_text("worker", since=since.get("worker", 0))
    web = stack.log_text("web", since=since.get("web", 0))
    postgres = stack.postgres.log_text(since=pg_since)
    errors = [line for line in worker.splitlines() if "ERROR" in line or "Traceback" in line]
    return {
        "deadlocks_postgres_log": postgres.count("deadlock detected"),
        "deadlocks_worker_log": worker.lower().count("deadlock"),
        "worker_error_lines": len(errors),
        "web_error_lines": sum(1 for line in web.splitlines() if "Traceback" in line),
        # The causes of the 5xx seen so far, as the web log names them.
        "web_503_deadlock": web.count("database unavailable: deadlock detected"),
        "web_500_unique_violation": web.count("IntegrityError: duplicate key value"),
        "web_503_connection_lost": web.count("terminating connection due to administrator command")
        + web.count("server closed the connection unexpectedly"),
        "worker_error_samples": errors[:3],
    }
