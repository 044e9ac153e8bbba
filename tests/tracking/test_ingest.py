"""Tracking-API messages stored through the ingest services (SPEC §9): every mapping rule,
identity stitching, duplicates, conflicts, whole-batch refusal and suppression."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.models import Account
from contacts.erasure import contacts_erase
from contacts.models import Contact, EngagementEvent
from mqa.batch import BatchError
from tracking.models import Identity, PendingMessage, TrackedMessage
from tracking.services import tracking_ingest

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AT = "2026-12-01T10:00:00Z"


def message(kind: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "messageId": message_id, "timestamp": AT, **fields}


def ingest(*messages: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return tracking_ingest(messages=list(messages), now=NOW, **kwargs).as_dict()


def answer(accepted=0, duplicates=0, conflicts=(), suppressed=0) -> dict[str, Any]:
    return {
        "accepted": accepted,
        "duplicates": duplicates,
        "conflicts": list(conflicts),
        "suppressed": suppressed,
    }


def events() -> list[tuple]:
    return list(
        EngagementEvent.objects.order_by("pk").values_list(
            "contact__email", "type", "occurred_at", "properties", "source", "external_id"
        )
    )


def contact(email: str) -> dict[str, Any]:
    return Contact.objects.values(
        "first_name",
        "last_name",
        "title",
        "seniority",
        "job_function",
        "buying_role",
        "country",
        "lead_source",
        "account_domain",
        "custom",
    ).get(email=email)


def test_identify_maps_traits_to_contact_fields_and_the_rest_to_custom():
    traits = {
        "email": " Ada@Acme.COM ",
        "firstName": "Ada",
        "last_name": "Lovelace",
        "title": "CTO",
        "seniority": "c_level",
        "jobFunction": "engineering",
        "buyingRole": "Decision_Maker",
        "country": "gb",
        "leadSource": "webinar",
        "company": {"name": "Acme", "domain": "https://www.Acme.com/about"},
        "plan": "enterprise",
        "logins": 3,
    }

    result = ingest(message("identify", "m1", userId="u1", traits=traits))

    assert result == answer(accepted=1)
    assert contact("ada@acme.com") == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "title": "CTO",
        "seniority": "c_level",
        "job_function": "engineering",
        "buying_role": "decision_maker",
        "country": "GB",
        "lead_source": "webinar",
        "account_domain": "acme.com",
        "custom": {"plan": "enterprise", "logins": 3},
    }
    assert list(Identity.objects.values_list("value", "kind", "email")) == [
        ("u1", "user", "ada@acme.com")
    ]


def test_snake_case_traits_and_company_website_map_too_and_custom_keys_merge():
    ingest(
        message(
            "identify",
            "m1",
            userId="u1",
            traits={"email": "ada@acme.com", "first_name": "Ada", "job_function": "it", "a": 1},
        )
    )
    ingest(
        message(
            "identify",
            "m2",
            userId="u1",
            traits={"lead_source": "ads", "company": {"website": "acme.io"}, "b": 2},
        )
    )

    fields = contact("ada@acme.com")
    assert (fields["first_name"], fields["job_function"], fields["lead_source"]) == (
        "Ada",
        "it",
        "ads",
    )
    assert (fields["account_domain"], fields["custom"]) == ("acme.io", {"a": 1, "b": 2})


def test_rudderstack_identify_traits_in_context_are_read():
    ingest(
        message(
            "identify",
            "m1",
            userId="u1",
            context={"traits": {"email": "ada@acme.com", "firstName": "Ada"}},
        )
    )

    assert contact("ada@acme.com")["first_name"] == "Ada"


def test_track_becomes_an_event_named_by_the_slug_of_its_name():
    ingest(
        message(
            "track",
            "m1",
            userId="u1",
            event="  Demo Requested!! (EU) ",
            properties={"campaign": "q4"},
            context={"traits": {"email": "ada@acme.com"}},
        )
    )

    assert events() == [
        (
            "ada@acme.com",
            "demo_requested_eu",
            datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
            {"campaign": "q4"},
            "segment",
            "m1",
        )
    ]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Demo Requested", "demo_requested"),
        ("whitepaper.download", "whitepaper.download"),
        ("Signed-Up", "signed-up"),
        ("__Trial__ Started__", "trial___started"),  # `_` is kept: only runs outside it
        ("Ünïcode Event", "n_code_event"),
    ],
)
def test_event_name_slugs(name, slug):
    email = {"traits": {"email": "ada@acme.com"}}
    ingest(message("track", "m1", userId="u1", event=name, context=email))

    assert EngagementEvent.objects.get().type == slug


@pytest.mark.parametrize("name", ["!!!", "   ", "", 7])
def test_an_event_name_without_a_letter_or_digit_refuses_the_batch(name):
    ok = message("identify", "m0", userId="u0", traits={"email": "bo@acme.com"})
    bad = message("track", "m1", userId="u1", event=name)

    with pytest.raises(BatchError) as raised:
        ingest(ok, bad)

    assert [(e.index, e.field) for e in raised.value.errors] == [(1, "event")]
    assert (Contact.objects.count(), TrackedMessage.objects.count(), Identity.objects.count()) == (
        0,
        0,
        0,
    )


def test_page_takes_url_and_path_from_properties_else_from_the_context():
    email = {"traits": {"email": "ada@acme.com"}}
    page = {"url": "https://acme.io/pricing?x=1", "path": "/pricing", "title": "Pricing"}
    ingest(
        message(
            "page", "m1", userId="u1", properties={"plan": "pro"}, context={**email, "page": page}
        ),
        message(
            "page",
            "m2",
            userId="u1",
            properties={"url": "https://acme.io/docs"},
            context={**email, "page": page},
        ),
        message("screen", "m3", userId="u1", name="Home", properties={"tab": 2}, context=email),
    )

    assert [(t, p) for _, t, _, p, _, _ in events()] == [
        ("page_view", {"plan": "pro", "url": "https://acme.io/pricing?x=1", "path": "/pricing"}),
        ("page_view", {"url": "https://acme.io/docs", "path": "/pricing"}),
        ("screen_view", {"tab": 2}),
    ]


def test_group_upserts_the_account_and_links_the_messages_contact():
    ingest(message("identify", "m1", userId="u1", traits={"email": "ada@gmail.com"}))
    traits = {
        "website": "https://www.Acme.com/",
        "name": "Acme",
        "industry": "Software",
        "employees": 800,
        "annualRevenue": 12.5e6,
        "country": "de",
        "plan": "enterprise",
    }

    result = ingest(message("group", "m2", userId="u1", groupId="g1", traits=traits))

    assert result == answer(accepted=1)
    account = Account.objects.values(
        "domain", "name", "industry", "employee_count", "annual_revenue", "country", "custom"
    ).get()
    assert account == {
        "domain": "acme.com",
        "name": "Acme",
        "industry": "Software",
        "employee_count": 800,
        "annual_revenue": 12.5e6,
        "country": "DE",
        "custom": {"plan": "enterprise"},
    }
    ada = Contact.objects.get(email="ada@gmail.com")
    assert (ada.account_domain, ada.account.domain) == ("acme.com", "acme.com")


@pytest.mark.parametrize(
    ("traits", "field"),
    [
        ({"name": "Acme"}, "traits.domain"),
        ({"domain": "   "}, "traits.domain"),
        ({"domain": "acme.com", "employees": "800"}, "traits.employees"),
        ({"website": "acme.com", "annualRevenue": "big"}, "traits.annualRevenue"),
        ({"domain": "acme.com", "country": "Germany"}, "traits.country"),
    ],
)
def test_an_invalid_group_names_its_trait(traits, field):
    with pytest.raises(BatchError) as raised:
        ingest(message("group", "m1", userId="u1", traits=traits))

    assert [(e.index, e.field) for e in raised.value.errors] == [(0, field)]
    assert Account.objects.count() == 0


def test_an_anonymous_visitor_identified_later_gets_the_earlier_events():
    first = ingest(
        message("page", "m1", anonymousId="a1", context={"page": {"path": "/pricing"}}),
        message("track", "m2", anonymousId="a1", event="Whitepaper Downloaded"),
    )
    assert first == answer(accepted=2)
    assert (EngagementEvent.objects.count(), PendingMessage.objects.count()) == (0, 2)

    second = ingest(
        message("identify", "m3", userId="u1", anonymousId="a1", traits={"email": "ada@acme.com"})
    )

    assert second == answer(accepted=1)
    assert [(e, t, i) for e, t, _, _, _, i in events()] == [
        ("ada@acme.com", "page_view", "m1"),
        ("ada@acme.com", "whitepaper_downloaded", "m2"),
    ]
    assert PendingMessage.objects.count() == 0
    assert set(TrackedMessage.objects.values_list("message_id", "email")) == {
        ("m1", "ada@acme.com"),
        ("m2", "ada@acme.com"),
        ("m3", "ada@acme.com"),
    }


def test_in_one_batch_an_identify_after_anonymous_events_applies_to_them():
    result = ingest(
        message("track", "m1", anonymousId="a1", event="Visited"),
        message("identify", "m2", anonymousId="a1", traits={"email": "ada@acme.com"}),
        message("track", "m3", anonymousId="a1", event="Signed Up"),
    )

    assert result == answer(accepted=3)
    assert [(e, t) for e, t, *_ in events()] == [
        ("ada@acme.com", "visited"),
        ("ada@acme.com", "signed_up"),
    ]


def test_alias_ties_the_previous_id_to_the_user_id():
    ingest(message("track", "m1", anonymousId="a1", event="Visited"))
    ingest(message("alias", "m2", previousId="a1", userId="u1"))
    assert EngagementEvent.objects.count() == 0  # neither id has an email yet

    ingest(message("identify", "m3", userId="u1", traits={"email": "ada@acme.com"}))
    ingest(message("track", "m4", anonymousId="a1", event="Came Back"))

    assert [(e, t) for e, t, *_ in events()] == [
        ("ada@acme.com", "visited"),
        ("ada@acme.com", "came_back"),
    ]
    assert PendingMessage.objects.count() == 0


def test_a_user_id_keeps_its_first_email_and_a_different_one_is_a_conflict():
    ingest(message("identify", "m1", userId="u1", traits={"email": "ada@acme.com"}))

    result = ingest(
        message("identify", "m2", userId="u1", traits={"email": "eve@acme.com", "title": "x"}),
        message("track", "m3", userId="u1", event="Clicked"),
    )

    assert result == answer(accepted=1, conflicts=[{"index": 0, "id": "m2"}])
    assert list(Contact.objects.values_list("email", flat=True)) == ["ada@acme.com"]
    assert [(e, t) for e, t, *_ in events()] == [("ada@acme.com", "clicked")]
    assert not TrackedMessage.objects.filter(message_id="m2").exists()


def test_a_resent_message_id_is_a_duplicate_or_a_conflict_and_the_first_is_kept():
    email = {"traits": {"email": "ada@acme.com"}}
    first = message("track", "m1", userId="u1", event="Clicked", context=email, sentAt=AT)
    ingest(first)

    resent = {**first, "sentAt": "2026-12-01T11:00:00Z"}  # a retry: only sentAt moved
    changed = {**first, "event": "Other"}
    result = ingest(resent, changed, message("track", "m2", userId="u1", event="A"))

    assert result == answer(accepted=1, duplicates=1, conflicts=[{"index": 1, "id": "m1"}])
    assert [(t, i) for _, t, _, _, _, i in events()] == [("clicked", "m1"), ("a", "m2")]


def test_the_same_message_id_twice_in_one_batch():
    email = {"traits": {"email": "ada@acme.com"}}
    one = message("track", "m1", userId="u1", event="A", context=email)

    result = ingest(one, one, {**one, "event": "B"})

    assert result == answer(accepted=1, duplicates=1, conflicts=[{"index": 2, "id": "m1"}])
    assert [t for _, t, *_ in events()] == ["a"]


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        (
            {"timestamp": "2026-12-01T10:00:00+02:00", "originalTimestamp": "2026-12-01T09:00:00Z"},
            datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        ),
        (
            {"originalTimestamp": "2026-12-01T09:00:00Z", "sentAt": "2026-12-01T09:30:00Z"},
            datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        ),
        ({"sentAt": "2026-12-01T09:30:00Z"}, datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
        ({}, datetime(2026, 12, 1, 9, 45, tzinfo=UTC)),  # the batch's sentAt
    ],
)
def test_a_messages_time_is_timestamp_else_original_else_sent_at(times, expected):
    track = {"type": "track", "messageId": "m1", "userId": "u1", "event": "A", **times}
    track["context"] = {"traits": {"email": "ada@acme.com"}}

    ingest(track, sent_at="2026-12-01T09:45:00Z")

    assert EngagementEvent.objects.get().occurred_at == expected


def test_without_any_time_a_message_takes_the_time_of_receipt():
    track = {"type": "track", "messageId": "m1", "userId": "u1", "event": "A"}
    track["context"] = {"traits": {"email": "ada@acme.com"}}

    ingest(track)

    assert EngagementEvent.objects.get().occurred_at == NOW


@pytest.mark.parametrize(
    ("times", "field"),
    [
        ({"timestamp": "2026-12-01T10:00:00"}, "timestamp"),
        ({"originalTimestamp": "yesterday"}, "originalTimestamp"),
        ({"sentAt": "2026-12-01 10:00"}, "sentAt"),
        ({"timestamp": (NOW + timedelta(hours=1)).isoformat()}, "timestamp"),
    ],
)
def test_a_time_without_a_timezone_or_unreadable_is_invalid(times, field):
    track = {"type": "track", "messageId": "m1", "userId": "u1", "event": "A", **times}

    with pytest.raises(BatchError) as raised:
        ingest(track)

    assert [(e.index, e.field) for e in raised.value.errors] == [(0, field)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "purchase"}, "type"),
        ({"messageId": None}, "messageId"),
        ({"userId": None}, "userId"),
        ({"userId": {"id": 1}}, "userId"),
        ({"traits": {"email": "not-an-email"}}, "traits.email"),
        ({"traits": {"email": "ada@acme.com", "firstName": 7}}, "traits.firstName"),
        ({"traits": {"company": {"domain": "://"}}}, "traits.company.domain"),
        ({"type": "track", "event": "A", "properties": []}, "properties"),
        ({"big": "x" * 33_000}, "message"),
    ],
)
def test_an_invalid_message_refuses_the_whole_batch(change, field):
    good = message("identify", "m0", userId="u0", traits={"email": "bo@acme.com"})
    bad = {**message("identify", "m1", userId="u1"), **change}

    with pytest.raises(BatchError) as raised:
        ingest(good, bad)

    assert [(e.index, e.field) for e in raised.value.errors] == [(1, field)]
    assert (Contact.objects.count(), TrackedMessage.objects.count()) == (0, 0)


def test_messages_for_an_erased_address_are_suppressed_and_store_nothing():
    contacts_erase(emails=["ada@acme.com"], actor="test")
    ingest(message("page", "m0", anonymousId="a1"))  # pending, not tied yet

    result = ingest(
        message("identify", "m1", userId="u1", anonymousId="a1", traits={"email": "ada@acme.com"}),
        message("group", "m2", userId="u1", traits={"domain": "acme.com"}),
        message("track", "m3", userId="u2", event="A", context={"traits": {"email": "bo@a.io"}}),
    )

    assert result == answer(accepted=1, suppressed=2)
    assert list(Contact.objects.values_list("email", flat=True)) == ["bo@a.io"]
    assert Account.objects.count() == 0
    assert list(TrackedMessage.objects.values_list("message_id", flat=True)) == ["m3"]
    assert list(Identity.objects.values_list("value", flat=True)) == ["u2"]


def test_erasure_forgets_the_messages_and_ids_tied_to_the_address():
    ingest(
        message("identify", "m1", userId="u1", anonymousId="a1", traits={"email": "ada@acme.com"}),
        message("track", "m2", userId="u1", event="A"),
        message("identify", "m3", userId="u2", traits={"email": "bo@acme.com"}),
    )

    contacts_erase(emails=["ada@acme.com"], actor="test")

    assert list(TrackedMessage.objects.values_list("message_id", flat=True)) == ["m3"]
    assert list(Identity.objects.values_list("value", flat=True)) == ["u2"]
