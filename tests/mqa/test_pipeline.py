"""The pipeline on whichever database the run uses (PostgreSQL, and SQLite in the second pass)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.services import contacts_upsert, events_ingest
from mqa.models import (
    AccountScore,
    AccountStatusChange,
    ContactScore,
    ContactStatusChange,
    PendingWork,
    RecordKind,
)
from mqa.selectors import pipeline_status_get
from mqa.services.pipeline import pipeline_process
from mqa.services.work_queue import work_add, work_claim, work_release
from tests.factories import event, mql_events, pricing_view

pytestmark = pytest.mark.django_db


def committee(domain: str = "acme.com") -> None:
    """A big target account with a decision maker, a champion and a user."""
    accounts_upsert(items=[{"domain": domain, "employee_count": 500, "is_target": True}])
    contacts_upsert(
        items=[
            {"email": f"ceo@{domain}", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": f"vp@{domain}", "seniority": "vp", "buying_role": "champion"},
            {"email": f"dev@{domain}", "seniority": "individual", "buying_role": "user"},
        ]
    )


def status_of(email: str) -> tuple[str, int, float]:
    score = ContactScore.objects.get(contact__email=email)
    return score.status, score.fit, score.engagement


def test_ingested_events_make_contacts_mql_and_the_account_mqa(active_model):
    committee()
    events_ingest(
        items=mql_events("ceo@acme.com")
        + mql_events("vp@acme.com")
        + [pricing_view("dev@acme.com")]
    )

    pipeline_process()

    assert status_of("ceo@acme.com") == ("mql", 50, 70.0)
    assert status_of("vp@acme.com") == ("mql", 50, 70.0)
    assert status_of("dev@acme.com") == ("engaged", 20, 10.0)
    account = AccountScore.objects.get(account__domain="acme.com")
    assert (account.status, account.fit, account.engagement) == ("mqa", 50, 70 * 2 + 70 * 1.5 + 10)
    assert (account.engaged_contacts, account.mql_contacts) == (3, 2)
    assert account.roles_covered == ["champion", "decision_maker", "user"]
    assert account.missing == []
    assert account.model_version_id == active_model.id
    change = AccountStatusChange.objects.get(account__domain="acme.com")
    assert (change.from_status, change.to_status, change.cause, change.model_version_id) == (
        "none",
        "mqa",
        "ingest",
        active_model.id,
    )
    assert change.scores == {
        "fit": 50,
        "engagement": 255.0,
        "signal_score": 0.0,
        "engaged_contacts": 3,
        "mql_contacts": 2,
    }
    assert [c["email"] for c in change.explanation["contacts"]] == [
        "ceo@acme.com",
        "dev@acme.com",
        "vp@acme.com",
    ]
    assert PendingWork.objects.count() == 0


def test_an_account_short_of_one_criterion_says_what_is_missing(active_model):
    committee()
    events_ingest(items=mql_events("vp@acme.com") + mql_events("dev@acme.com"))

    pipeline_process()

    account = AccountScore.objects.get(account__domain="acme.com")
    assert account.status == "engaged"
    assert (account.engagement, account.engaged_contacts, account.mql_contacts) == (175.0, 2, 1)
    assert account.missing == [
        {
            "criterion": "required_roles",
            "actual": ["champion", "user"],
            "required": ["decision_maker"],
        }
    ]


def test_processing_twice_changes_nothing(active_model):
    committee()
    events_ingest(items=mql_events("ceo@acme.com"))
    pipeline_process()
    before = list(
        ContactScore.objects.order_by("pk").values_list(
            "status", "fit", "engagement", "status_since"
        )
    )

    contacts = Contact.objects.values_list("id", flat=True)
    work_add(kind=RecordKind.CONTACT, ids=contacts)
    pipeline_process()

    after = list(
        ContactScore.objects.order_by("pk").values_list(
            "status", "fit", "engagement", "status_since"
        )
    )
    assert after == before
    assert ContactStatusChange.objects.count() == 1
    assert AccountStatusChange.objects.count() == 1


def test_re_ingesting_the_same_events_changes_nothing(active_model):
    committee()
    batch = mql_events("ceo@acme.com")
    events_ingest(items=batch)
    pipeline_process()

    result = events_ingest(items=batch)

    assert (result.accepted, result.duplicates) == (0, 4)
    assert PendingWork.objects.count() == 0
    assert ContactStatusChange.objects.count() == 1


def test_a_record_touched_while_a_worker_has_it_stays_pending(active_model):
    events_ingest(items=[event("jo@acme.com")])
    claimed = work_claim(limit=10, now=timezone.now())
    assert [c.kind for c in claimed] == ["contact"]

    work_add(kind=RecordKind.CONTACT, ids=[claimed[0].object_id])
    work_release(claimed=claimed)

    assert PendingWork.objects.count() == 1


def test_a_lease_that_ran_out_is_claimed_again(active_model, settings):
    settings.MQA_WORK_LEASE_SECONDS = 60
    events_ingest(items=[event("jo@acme.com")])
    now = timezone.now()
    assert len(work_claim(limit=10, now=now)) == 1

    assert work_claim(limit=10, now=now + timedelta(seconds=59)) == []
    assert len(work_claim(limit=10, now=now + timedelta(seconds=61))) == 1


def test_changing_an_account_rescores_its_contacts(active_model):
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 50}])
    contacts_upsert(items=[{"email": "ceo@acme.com"}])
    events_ingest(items=mql_events("ceo@acme.com"))
    pipeline_process()
    assert status_of("ceo@acme.com") == ("engaged", 0, 70.0)

    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 500}])
    pipeline_process()

    assert status_of("ceo@acme.com") == ("engaged", 20, 70.0)
    assert AccountScore.objects.get(account__domain="acme.com").fit == 50


def test_moving_a_contact_rescores_the_account_it_left(active_model):
    accounts_upsert(items=[{"domain": "acme.com"}, {"domain": "globex.com"}])
    contacts_upsert(items=[{"email": "jo@acme.com"}])
    events_ingest(items=mql_events("jo@acme.com"))
    pipeline_process()
    assert AccountScore.objects.get(account__domain="acme.com").engaged_contacts == 1

    contacts_upsert(items=[{"email": "jo@acme.com", "account_domain": "globex.com"}])
    pipeline_process()

    assert AccountScore.objects.get(account__domain="acme.com").engaged_contacts == 0
    assert AccountScore.objects.get(account__domain="globex.com").engaged_contacts == 1


def test_disqualified_contacts_do_not_count_for_their_account(active_model):
    committee()
    contacts_upsert(items=[{"email": "vp@acme.com", "seniority": "student"}])
    events_ingest(items=mql_events("ceo@acme.com") + mql_events("vp@acme.com"))

    pipeline_process()

    score = ContactScore.objects.get(contact__email="vp@acme.com")
    assert (score.status, score.disqualified_reasons) == ("disqualified", ["student"])
    account = AccountScore.objects.get(account__domain="acme.com")
    assert (account.engaged_contacts, account.engagement) == (1, 140.0)


def test_without_an_active_model_work_is_dropped_and_statuses_stay_none(db):
    events_ingest(items=mql_events("jo@acme.com"))

    assert pipeline_process() == 1

    assert PendingWork.objects.count() == 0
    assert ContactScore.objects.get().status == "none"


def test_pipeline_status_counts_pending_work_and_its_age(active_model):
    from mqa.models import RescoreRun

    RescoreRun.objects.update(state=RescoreRun.State.DONE)
    events_ingest(items=[event("jo@acme.com"), event("al@acme.com")])
    later = timezone.now() + timedelta(seconds=30)

    status = pipeline_status_get(now=later)

    assert status["pending"] == 2
    assert 30 <= status["oldest_pending_seconds"] < 40
    assert status["active_model_version"] == 1
    pipeline_process()
    assert pipeline_status_get()["pending"] == 0


def test_new_data_for_a_record_a_time_refresh_marked_is_claimed_as_new_data(active_model):
    """A refresh marks most engaged contacts at scale; an event for one of them must not wait
    behind the rest of the refresh. Nor does a refresh push new data back behind itself."""
    events_ingest(items=[event("a@acme.com"), event("b@acme.com"), event("c@acme.com")])
    a, b, c = (Contact.objects.get(email=f"{x}@acme.com").id for x in "abc")
    PendingWork.objects.update(cause="time")
    events_ingest(items=[event("b@acme.com")])
    work_add(kind=RecordKind.CONTACT, ids=[c], cause="time")

    claimed = work_claim(limit=1, now=timezone.now())

    assert [(w.object_id, w.cause) for w in claimed] == [(b, "ingest")]
    assert sorted(PendingWork.objects.filter(kind="contact").values_list("object_id", "cause")) == [
        (a, "time"), (b, "ingest"), (c, "time")
    ]  # fmt: skip
    events_ingest(items=[event("c@acme.com")])
    work_add(kind=RecordKind.CONTACT, ids=[c], cause="time")
    assert PendingWork.objects.get(kind="contact", object_id=c).cause == "ingest"


def test_new_data_is_claimed_before_time_refreshes(active_model):
    events_ingest(items=[event("old@acme.com")])
    first = Contact.objects.get(email="old@acme.com").id
    PendingWork.objects.filter(object_id=first).update(cause="time")
    events_ingest(items=[event("new@acme.com")])
    second = Contact.objects.get(email="new@acme.com").id

    claimed = work_claim(limit=1, now=timezone.now())

    assert [(c.object_id, c.cause) for c in claimed] == [(second, "ingest")]
    assert [(c.object_id, c.cause) for c in work_claim(limit=5, now=timezone.now())] == [
        (first, "time")
    ]
