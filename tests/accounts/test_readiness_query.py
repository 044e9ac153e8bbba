"""The readiness GET's own statement (PostgreSQL) answers exactly what the ORM document does."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from accounts.selectors import TOP_CONTACTS, account_readiness_get, readiness_of
from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import AccountScore
from mqa.services.pipeline import pipeline_process
from tests.factories import mql_events, pricing_view

pytestmark = pytest.mark.django_db


def orm_document(domain: str) -> dict:
    return readiness_of(
        Account.objects.select_related("score", "score__model_version").get(domain=domain)
    )


def test_scored_unscored_and_scoreless_accounts_read_the_same_as_the_orm(active_model):
    accounts_upsert(
        items=[
            {"domain": "acme.com", "name": "Acme", "is_target": True, "owner": "ae@v.io"},
            {"domain": "quiet.com", "name": "Quiet"},
            {"domain": "bare.com"},
        ]
    )
    people = [f"p{n}@acme.com" for n in range(TOP_CONTACTS + 3)]
    contacts_upsert(
        items=[{"email": e, "seniority": "vp", "buying_role": "champion"} for e in people]
    )
    events_ingest(items=[*mql_events(people[0]), *(pricing_view(e) for e in people[1:])])
    pipeline_process()
    AccountScore.objects.filter(account__domain="bare.com").delete()

    scored = account_readiness_get(domain="acme.com")
    assert scored == orm_document("acme.com")
    assert scored["computed_at"] is not None and scored["model_version"] == 1
    assert len(scored["top_contacts"]) == TOP_CONTACTS
    assert scored["top_contacts"][0]["email"] == people[0]
    assert account_readiness_get(domain="quiet.com") == orm_document("quiet.com")
    assert account_readiness_get(domain="bare.com") == orm_document("bare.com")
    assert account_readiness_get(domain="bare.com")["status"] == "none"
    assert account_readiness_get(domain="nope.com") is None


def test_the_readiness_statement_is_the_only_query(active_model):
    accounts_upsert(items=[{"domain": "acme.com", "name": "Acme"}])
    pipeline_process()

    with CaptureQueriesContext(connection) as queries:
        account_readiness_get(domain="acme.com")

    assert len(queries) == 1
