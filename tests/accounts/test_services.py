from __future__ import annotations

import pytest

from accounts.models import Account, AccountSignal
from accounts.services import accounts_upsert, signals_ingest
from mqa.batch import BatchError
from mqa.models import AccountScore, PendingWork
from tests.factories import signal

pytestmark = pytest.mark.django_db


def test_it_creates_accounts_with_normalised_domains_and_a_none_score():
    result = accounts_upsert(
        items=[{"domain": " HTTPS://user@www.Acme.com:443/about?x#y ", "name": "Acme"}]
    )

    assert result.as_dict() == {"created": 1, "updated": 0}
    account = Account.objects.get()
    assert (account.domain, account.name, account.is_target, account.custom) == (
        "acme.com",
        "Acme",
        False,
        {},
    )
    assert AccountScore.objects.get(account=account).status == "none"
    assert list(PendingWork.objects.values_list("kind", "object_id")) == [("account", account.id)]


def test_upserts_are_partial_and_null_clears():
    accounts_upsert(
        items=[
            {"domain": "acme.com", "name": "Acme", "industry": "Software", "employee_count": 500}
        ]
    )

    result = accounts_upsert(items=[{"domain": "acme.com", "industry": None, "is_target": True}])

    account = Account.objects.get()
    assert result.as_dict() == {"created": 0, "updated": 1}
    assert (account.name, account.industry, account.employee_count, account.is_target) == (
        "Acme",
        None,
        500,
        True,
    )


def test_items_with_the_same_domain_apply_in_order():
    accounts_upsert(
        items=[
            {"domain": "acme.com", "name": "First", "tier": "1"},
            {"domain": "www.acme.com", "name": "Second"},
        ]
    )

    account = Account.objects.get()
    assert (account.name, account.tier) == ("Second", "1")


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"domain": "acme.com", "employee_count": "500"}, "employee_count"),
        ({"domain": "acme.com", "employee_count": True}, "employee_count"),
        ({"domain": "acme.com", "annual_revenue": "1e6"}, "annual_revenue"),
        ({"domain": "acme.com", "is_target": 1}, "is_target"),
        ({"domain": "acme.com", "custom": []}, "custom"),
        ({"domain": "acme.com", "country": "Germany"}, "country"),
        ({"domain": "acme.com", "colour": "red"}, "colour"),
        ({"domain": "https://user@:8080/path"}, "domain"),
        ({"name": "No domain"}, "domain"),
    ],
)
def test_a_bad_item_rejects_the_whole_batch_naming_the_field(item, field):
    with pytest.raises(BatchError) as raised:
        accounts_upsert(items=[{"domain": "good.com"}, item])

    assert [(e.index, e.field) for e in raised.value.errors] == [(1, field)]
    assert Account.objects.count() == 0
    assert PendingWork.objects.count() == 0


def test_a_signal_for_an_unknown_domain_creates_the_account():
    result = signals_ingest(items=[signal("WWW.Newco.io", id="s1")])

    assert result.as_dict() == {"accepted": 1, "duplicates": 0, "conflicts": [], "suppressed": 0}
    stored = AccountSignal.objects.select_related("account").get()
    assert (stored.account.domain, stored.type, stored.source, stored.external_id) == (
        "newco.io",
        "intent_surge",
        "api",
        "s1",
    )


def test_signals_are_idempotent_by_source_and_id():
    first = signal("acme.com", id="s1", properties={"topic": "crm"})
    signals_ingest(items=[first])

    result = signals_ingest(
        items=[first, {**first, "properties": {"topic": "erp"}}, signal("acme.com", id="s2")]
    )

    assert result.as_dict() == {
        "accepted": 1,
        "duplicates": 1,
        "conflicts": [{"index": 1, "id": "s1"}],
        "suppressed": 0,
    }
    assert AccountSignal.objects.get(external_id="s1").properties == {"topic": "crm"}
    assert AccountSignal.objects.count() == 2


def test_nul_characters_are_refused_anywhere_in_an_item():
    with pytest.raises(BatchError) as raised:
        accounts_upsert(
            items=[{"domain": "ok.com", "custom": {"a\x00b": 1}}, {"domain": "x\x00.com"}]
        )

    assert [(e.index, e.field, e.message) for e in raised.value.errors] == [
        (0, "custom", "must not contain NUL (\\u0000) characters"),
        (1, "domain", "must not contain NUL (\\u0000) characters"),
    ]
    assert Account.objects.count() == 0
