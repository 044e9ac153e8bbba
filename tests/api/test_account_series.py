"""`GET /api/v1/accounts/{domain}/series` and `account_series_get`: an account week by week as
the active model scores it at each week's end (only what happened before then), beside the
status changes stored in its history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.services import contacts_upsert, events_ingest
from mqa.models import AccountStatusChange
from mqa.reports.series import account_series_get
from mqa.services.pipeline import pipeline_process
from tests.factories import event, pricing_view

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(active_model):
    """The VP (champion) asked for a demo 20 days ago; both came back 3 days ago."""
    now = timezone.now()
    accounts_upsert(items=[{"domain": "acme.com", "employee_count": 500, "is_target": True}])
    contacts_upsert(
        items=[
            {"email": "ceo@acme.com", "seniority": "c_level", "buying_role": "decision_maker"},
            {"email": "vp@acme.com", "seniority": "vp", "buying_role": "champion"},
        ]
    )
    recent = now - timedelta(days=3)
    events_ingest(
        items=[
            event("vp@acme.com", at=now - timedelta(days=20)),
            *[pricing_view("vp@acme.com", at=recent) for _ in range(3)],
            event("ceo@acme.com", at=recent),
            pricing_view("ceo@acme.com", at=recent),
        ]
    )
    pipeline_process()
    return active_model


def test_the_series_scores_each_week_end_with_what_happened_before_it(acme):
    now = timezone.now()

    series = account_series_get(domain="acme.com", weeks=4, now=now)

    assert series is not None
    change = AccountStatusChange.objects.get()
    assert series == {
        "domain": "acme.com",
        "model_version": 1,
        "weeks": 4,
        "points": [
            # Nobody had done anything yet (both contacts were created later).
            {"at": now - timedelta(weeks=3), "fit": 50, "engagement": 0.0, "status": "none"},
            # The VP's demo request: 40 × 1.5 (champion).
            {"at": now - timedelta(weeks=2), "fit": 50, "engagement": 60.0, "status": "engaged"},
            {"at": now - timedelta(weeks=1), "fit": 50, "engagement": 60.0, "status": "engaged"},
            # VP 70 × 1.5 + CEO 50 × 2.0; both MQLs, the decision maker among them.
            {"at": now, "fit": 50, "engagement": 205.0, "status": "mqa"},
        ],
        "changes": [
            {
                "at": change.changed_at,
                "from": "none",
                "to": "mqa",
                "model_version": 1,
                "cause": "ingest",
            }
        ],
    }


def test_the_last_point_is_the_account_as_scored_now(api, acme):
    readiness = api.get("/api/v1/accounts/acme.com/readiness").json()

    body = api.get("/api/v1/accounts/acme.com/series?weeks=2").json()

    last = body["points"][-1]
    assert (last["fit"], last["engagement"], last["status"]) == (
        readiness["fit"],
        readiness["engagement"],
        readiness["status"],
    )
    assert [p["engagement"] for p in body["points"]] == [60.0, 205.0]


def test_changes_older_than_the_series_are_left_out(acme):
    AccountStatusChange.objects.update(changed_at=timezone.now() - timedelta(weeks=5))

    series = account_series_get(domain="acme.com", weeks=4)

    assert series is not None
    assert (len(series["points"]), series["changes"]) == (4, [])


@pytest.mark.parametrize("query", ["", "?weeks="], ids=["absent", "empty"])
def test_the_series_has_twelve_weeks_by_default_newest_last(api, acme, query):
    response = api.get(f"/api/v1/accounts/WWW.Acme.com/series{query}")

    assert response.status_code == 200
    body = response.json()
    assert (body["domain"], body["weeks"], len(body["points"])) == ("acme.com", 12, 12)
    assert [p["at"] for p in body["points"]] == sorted(p["at"] for p in body["points"])


def test_the_series_loads_the_same_few_rows_for_any_number_of_weeks(
    acme, django_assert_num_queries
):
    account_series_get(domain="acme.com", weeks=1)  # the parsed model is cached from here on

    with django_assert_num_queries(6):
        short = account_series_get(domain="acme.com", weeks=2)
    with django_assert_num_queries(6):
        long = account_series_get(domain="acme.com", weeks=104)

    assert short is not None and long is not None
    assert (len(short["points"]), len(long["points"])) == (2, 104)


@pytest.mark.parametrize("weeks", ["0", "105", "-1", "x", "1.5", "12x"])
def test_weeks_outside_1_to_104_is_a_400_naming_it(api, acme, weeks):
    response = api.get(f"/api/v1/accounts/acme.com/series?weeks={weeks}")

    assert (response.status_code, response["Content-Type"]) == (400, "application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["weeks"]


def test_the_series_of_an_unknown_domain_is_a_404(api, acme):
    response = api.get("/api/v1/accounts/nope.com/series")

    assert (response.status_code, response.json()["detail"]) == (
        404,
        "no account with this domain",
    )
    assert account_series_get(domain="nope.com") is None


def test_without_an_active_model_the_series_has_no_points_but_its_changes(db):
    accounts_upsert(items=[{"domain": "acme.com"}])

    assert account_series_get(domain="acme.com", weeks=3) == {
        "domain": "acme.com",
        "model_version": None,
        "weeks": 3,
        "points": [],
        "changes": [],
    }
