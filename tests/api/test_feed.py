"""The change feeds of `GET /api/v1/{contacts,accounts,handoffs}?updated_since=` (what a
reverse-ETL job polls): status and time filters, cursor pages whose `next` is always where to
poll again, and no change served before every transaction below it has ended."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import accounts_upsert
from contacts.models import Contact
from contacts.services import contacts_upsert
from mqa.models import ContactScore, Handoff
from tests.problems import is_problem

# Committed for real: on PostgreSQL a position is the id of the transaction that wrote it.
pytestmark = pytest.mark.django_db(transaction=True)

SINCE = "2000-01-01T00:00:00Z"


def emails(api, url: str) -> tuple[list[str], str]:
    body = api.get(url).json()
    return [c["email"] for c in body["results"]], body["next"]


def test_the_contact_feed_pages_filters_and_gives_where_to_poll_again(api):
    contacts_upsert(items=[{"email": f"{n}@x.io"} for n in "abc"])
    ContactScore.objects.filter(contact__email="b@x.io").update(status="mql")

    first, following = emails(api, f"/api/v1/contacts?updated_since={SINCE}&limit=2")
    second, again = emails(api, following)
    empty, same = emails(api, again)
    mql, _ = emails(api, f"/api/v1/contacts?updated_since={SINCE}&status=mql")

    assert (first, second, empty) == (["a@x.io", "c@x.io"], ["b@x.io"], [])
    assert same == again  # nothing new: poll the same cursor later
    assert mql == ["b@x.io"]
    ContactScore.objects.filter(contact__email="a@x.io").update(fit=3)
    assert emails(api, again)[0] == ["a@x.io"]
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert api.get("/api/v1/contacts", {"updated_since": later}).json()["results"] == []


def test_a_change_is_not_served_while_an_older_transaction_is_still_running(api, second_connection):
    contacts_upsert(items=[{"email": "old@x.io"}, {"email": "new@x.io"}])
    _, cursor = emails(api, f"/api/v1/contacts?updated_since={SINCE}")
    [old_id] = Contact.objects.filter(email="old@x.io").values_list("id", flat=True)
    second_connection.execute(
        "UPDATE mqa_contactscore SET fit = 7 WHERE contact_id = %s", [old_id]
    )  # begun first, not committed yet

    ContactScore.objects.filter(contact__email="new@x.io").update(fit=9)  # committed
    held_back, same = emails(api, cursor)
    second_connection.commit()
    both, _ = emails(api, cursor)

    assert (held_back, same) == ([], cursor)
    assert both == ["old@x.io", "new@x.io"]  # in the order the transactions began


def test_a_mangled_feed_cursor_is_a_400(api):
    response = api.get(f"/api/v1/contacts?updated_since={SINCE}&cursor=%%%")

    assert is_problem(response, 400)
    assert response.json()["errors"] == [{"field": "cursor", "message": "invalid cursor"}]


def test_the_account_and_handoff_feeds(api):
    accounts_upsert(items=[{"domain": "b.io"}, {"domain": "a.io"}])
    now = timezone.now()
    Handoff.objects.create(kind="account", status="open", created_at=now)
    accepted = Handoff.objects.create(kind="account", status="open", created_at=now)

    accounts = api.get(f"/api/v1/accounts?updated_since={SINCE}").json()
    Handoff.objects.filter(pk=accepted.pk).update(status="accepted", updated_at=timezone.now())
    handoffs = api.get(f"/api/v1/handoffs?updated_since={SINCE}&status=accepted").json()

    assert [a["domain"] for a in accounts["results"]] == ["b.io", "a.io"]
    assert [(h["id"], h["status"]) for h in handoffs["results"]] == [(accepted.pk, "accepted")]
    assert handoffs["next"].startswith("http://testserver/api/v1/handoffs?")
