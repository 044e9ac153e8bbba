"""The whole loop on real parts: services in this process, Celery workers and beat over Redis."""

from __future__ import annotations

import os
import signal

import pytest
import redis

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import (
    AccountScore,
    AccountStatusChange,
    ContactScore,
    ContactStatusChange,
    PendingWork,
    RescoreRun,
)
from mqa.selectors import pipeline_status_get, scoring_model_active
from mqa.services.pipeline import pipeline_sweep
from mqa.services.scores import scores_recompute
from tests.conftest import publish
from tests.factories import mql_events, pricing_view
from tests.integration.conftest import use_broker, wait_for

pytestmark = pytest.mark.integration


def scores_snapshot() -> tuple[list, list]:
    contacts = list(
        ContactScore.objects.order_by("pk").values_list("pk", "status", "fit", "engagement")
    )
    accounts = list(
        AccountScore.objects.order_by("pk").values_list(
            "pk", "status", "fit", "engagement", "roles_covered"
        )
    )
    return contacts, accounts


def drained() -> bool:
    return pipeline_status_get()["pending"] == 0


def test_a_worker_makes_a_target_account_mqa_and_re_ingest_changes_nothing(
    celery_processes, test_document
):
    celery_processes.beat()
    celery_processes.worker("w1")
    publish(test_document)
    wait_for(drained, seconds=30, what="the publish rescore", logs=celery_processes.logs)

    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 500, "is_target": True}])
    contacts_upsert(
        items=[
            {"email": "ceo@acme.com", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": "vp@acme.com", "seniority": "vp", "buying_role": "champion"},
        ]
    )
    batch = mql_events("ceo@acme.com") + mql_events("vp@acme.com")
    events_ingest(items=batch)

    wait_for(
        lambda: (
            AccountScore.objects.filter(account__domain="acme.com", status="mqa").exists()
            and drained()
        ),
        seconds=20,
        what="acme.com reaching mqa",
        logs=celery_processes.logs,
    )
    change = AccountStatusChange.objects.get(account__domain="acme.com")
    assert (change.from_status, change.to_status, change.cause) == ("none", "mqa", "ingest")
    assert change.scores["engagement"] == 70 * 2.0 + 70 * 1.5
    assert change.explanation["missing"] == []
    assert change.explanation["roles_covered"] == ["champion", "decision_maker"]
    before = scores_snapshot()

    result = events_ingest(items=batch)

    assert (result.accepted, result.duplicates, result.conflicts) == (0, 8, [])
    assert drained()
    assert scores_snapshot() == before
    assert AccountStatusChange.objects.count() == 1
    assert ContactStatusChange.objects.count() == 2


def test_a_worker_killed_mid_batch_is_replaced_and_the_state_is_right(
    celery_processes, test_document
):
    celery_processes.beat()
    first = celery_processes.worker("w1")
    publish(test_document)
    wait_for(drained, seconds=30, what="the publish rescore", logs=celery_processes.logs)
    domains = [f"co{i}.com" for i in range(20)]
    accounts_upsert(items=[{"domain": d, "employee_count": 500} for d in domains])
    emails = [f"p{j}@{d}" for d in domains for j in range(10)]
    contacts_upsert(
        items=[{"email": e, "seniority": "vp", "buying_role": "champion"} for e in emails]
    )
    wait_for(drained, seconds=30, what="the upserts", logs=celery_processes.logs)

    events_ingest(items=[e for email in emails for e in mql_events(email)])
    wait_for(
        lambda: PendingWork.objects.filter(leased_until__isnull=False).exists(),
        seconds=10,
        what="the worker leasing a batch",
        logs=celery_processes.logs,
    )
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert PendingWork.objects.exists(), "the worker finished before it could be killed mid-batch"

    celery_processes.worker("w2")
    wait_for(drained, seconds=60, what="the second worker finishing", logs=celery_processes.logs)

    assert set(ContactScore.objects.values_list("status", "fit", "engagement")) == {
        ("mql", 50, 70.0)
    }
    assert set(AccountScore.objects.values_list("status", "engaged_contacts", "engagement")) == {
        ("engaged", 10, 1050.0)
    }
    for email in emails:
        changes = list(
            ContactStatusChange.objects.filter(contact__email=email)
            .order_by("changed_at", "id")
            .values_list("from_status", "to_status")
        )
        assert changes == [("none", "mql")], email
    before = scores_snapshot()
    active = scoring_model_active()
    assert active is not None
    scores_recompute(
        contact_ids=ContactScore.objects.values_list("pk", flat=True),
        account_ids=AccountScore.objects.values_list("pk", flat=True),
        active=active,
        now=ContactScore.objects.latest("computed_at").computed_at,
        cause="ingest",
    )
    assert scores_snapshot() == before


def test_work_accepted_while_the_broker_is_down_is_kept_and_sent_when_it_is_back(
    broker, database_url
):
    publish_queue = redis.Redis.from_url(broker)
    use_broker("redis://127.0.0.1:1/0")  # nothing listens there

    result = events_ingest(items=[pricing_view("jo@acme.com", id="down-1")])

    assert result.accepted == 1
    assert list(PendingWork.objects.values_list("kind", flat=True)) == ["contact"]
    assert publish_queue.llen("celery") == 0

    use_broker(broker)
    assert pipeline_sweep() is True
    assert publish_queue.llen("celery") == 1
    assert RescoreRun.objects.count() == 0
