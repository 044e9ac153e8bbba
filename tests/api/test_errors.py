"""One error shape (SPEC §7 *Errors*), the limits (429), the database down (503) and the
login lockout — each asserted on what the client sees and on what was (not) stored."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
import redis
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone
from rest_framework.request import Request

from accounts.models import Account
from contacts.models import Contact, EngagementEvent
from mqa.api.throttles import AddressLimit
from mqa.models import RoutingSettings
from tests.integration.conftest import _require
from tests.problems import is_problem, problem

NOW = timezone.now() - timedelta(minutes=1)


def test_bodies_that_are_not_json_are_415_and_store_nothing(api):
    for content_type, body in [
        ("text/plain", '{"items": [{"domain": "acme.com"}]}'),
        ("application/x-www-form-urlencoded", "items=acme.com"),
        ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="items"\r\n\r\nacme.com\r\n--x--\r\n'),
        ("application/xml", "<items><domain>acme.com</domain></items>"),
    ]:  # fmt: skip
        bulk = api.generic("POST", "/api/v1/accounts/bulk", body, content_type=content_type)
        routing = api.generic("PUT", "/api/v1/routing", body, content_type=content_type)

        assert is_problem(bulk, 415), content_type
        assert is_problem(routing, 415), content_type
    assert (Account.objects.count(), RoutingSettings.objects.count()) == (0, 0)


def test_invalid_utf8_is_a_400_naming_the_body(api):
    response = api.generic(
        "POST", "/api/v1/contacts/bulk", b'{"items": [{"email": "\xff@acme.com"}]}',
        content_type="application/json",
    )  # fmt: skip

    message = "not valid UTF-8: invalid start byte"
    assert response.json() == problem(
        400, f"body: {message}", [{"field": "body", "message": message}]
    )
    assert Contact.objects.count() == 0


def nested(levels: int) -> dict:
    """`levels` objects, one inside the other."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_json_nested_deeper_than_64_is_a_400_naming_the_field(api):
    event = {"email": "jo@acme.com", "type": "visit", "id": "e1", "occurred_at": NOW.isoformat()}

    # The body, `items` and the item are 3 levels: properties of 62 make 65.
    too_deep = api.post(
        "/api/v1/events/bulk", {"items": [{**event, "properties": nested(62)}]}, format="json"
    )
    routing = api.put("/api/v1/routing", {"queues": [nested(63)]}, format="json")

    message = "nested deeper than 64 levels"
    field = "properties" + ".a" * 61
    assert too_deep.json() == problem(
        400, f"items[0].{field}: {message}", [{"index": 0, "field": field, "message": message}]
    )
    assert routing.json()["errors"] == [{"field": "queues[0]" + ".a" * 62, "message": message}]
    assert (EngagementEvent.objects.count(), Contact.objects.count()) == (0, 0)
    just_deep_enough = {"items": [{**event, "properties": nested(61)}]}
    assert api.post("/api/v1/events/bulk", just_deep_enough, format="json").status_code == 202


def test_numbers_out_of_their_column_and_instants_out_of_range_are_named(api):
    big = api.post(
        "/api/v1/accounts/bulk",
        {"items": [{"domain": "acme.com", "employee_count": 2**63}]},
        format="json",
    )
    far = api.post("/api/v1/events/bulk", {"items": [
        {"email": "jo@acme.com", "type": "visit", "id": "e1", "occurred_at": "0001-01-01T00:00:00+14:00"}
    ]}, format="json")  # fmt: skip
    since = api.get("/api/v1/accounts", {"updated_since": "0001-01-01T00:00:00+14:00"})

    assert big.json()["errors"] == [
        {"index": 0, "field": "employee_count", "message": "Expected `int` <= 9223372036854775807"}
    ]
    assert far.json()["errors"] == [
        {"index": 0, "field": "occurred_at", "message": "is outside the years 1–9999 once its offset is applied"}
    ]  # fmt: skip
    assert since.json()["errors"] == [
        {"field": "updated_since", "message": "is outside the years 1–9999 once its offset is applied"}
    ]  # fmt: skip
    assert (Account.objects.count(), EngagementEvent.objects.count()) == (0, 0)


def test_nul_in_a_query_or_a_path_is_a_400_before_the_database(api):
    query = api.get("/api/v1/contacts?email=jo%00@acme.com")
    path = api.get("/api/v1/accounts/acme%00.com/readiness")

    assert query.json()["errors"] == [
        {"field": "email", "message": "must not contain NUL (\\u0000) characters"}
    ]
    assert path.json()["errors"] == [
        {"field": "path", "message": "must not contain NUL (\\u0000) characters"}
    ]


def test_django_own_404_and_405_are_problems_on_api_paths(api, client):
    assert api.get("/api/v1/nothing-here").json() == problem(404, "no such resource")
    assert is_problem(api.delete("/api/v1/pipeline"), 405)
    assert client.get("/review/nothing-here")["Content-Type"].startswith("text/html")


@pytest.fixture
def database_down(transactional_db):
    """The web process's database connection fails as when PostgreSQL is stopped: a real
    connection attempt to a port nothing listens on."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "9", "NAME": "gone"})
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent/dir/db.sqlite3"
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_the_database_unreachable_is_a_503_with_retry_after(database_down):
    api = Client(HTTP_AUTHORIZATION="Api-Key mqa_x_y")
    for response in (
        api.get("/api/v1/pipeline"),
        api.post("/api/v1/events/bulk", {"items": []}, content_type="application/json"),
        Client().post("/admin/login/", {"username": "ann", "password": "a-long-passphrase"}),
    ):
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
    assert api.get("/api/v1/pipeline").json() == problem(
        503, "the database is unavailable; retry shortly"
    )


LIMITS_REDIS_DB = 14  # apart from the integration tests' 15


@contextmanager
def redis_cache() -> Iterator[None]:
    """The cache on the test Redis, its database emptied first."""
    base = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if not base:
        _require("no TEST_REDIS_URL / REDIS_URL")
    url = f"{str(base).rsplit('/', 1)[0]}/{LIMITS_REDIS_DB}"
    redis.Redis.from_url(url).flushdb()
    backend = "django.core.cache.backends.redis.RedisCache"
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": url}}):
        yield


@pytest.fixture(params=["local memory", "redis"])
def limits_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """The limits on the embedded default's local memory cache (DRF's log), then on Redis
    (a sorted set and a script)."""
    if request.param == "local memory":
        yield
        return
    with redis_cache():
        yield


@override_settings(MQA_RATE_PER_KEY="3/min")
def test_a_key_over_its_limit_gets_429_with_retry_after_and_others_do_not(client_for, limits_cache):
    first, second = client_for("read"), client_for("read")

    answers = [first.get("/api/v1/pipeline").status_code for _ in range(4)]
    limited = first.get("/api/v1/pipeline")

    assert answers == [200, 200, 200, 429]
    assert limited.json() == problem(429, limited.json()["detail"])
    assert limited.json()["detail"].startswith("Request was throttled.")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert second.get("/api/v1/pipeline").status_code == 200


@override_settings(MQA_RATE_PER_KEY="2/min", MQA_RATE_INGEST_PER_KEY="5/min")
def test_bulk_ingest_has_its_own_larger_limit(api, limits_cache):
    reads = [api.get("/api/v1/pipeline").status_code for _ in range(3)]
    writes = [
        api.post("/api/v1/accounts/bulk", {"items": []}, format="json").status_code
        for _ in range(6)
    ]

    assert (reads, writes) == ([200, 200, 429], [200] * 5 + [429])


@override_settings(MQA_RATE_PER_ADDRESS="3/min")
def test_an_address_guessing_keys_is_limited_before_it_is_told_401(db, limits_cache):
    guesser = Client(HTTP_AUTHORIZATION="Api-Key mqa_000000000000_guess")

    assert [guesser.get("/api/v1/pipeline").status_code for _ in range(4)] == [401, 401, 401, 429]


@override_settings(
    MQA_RATE_PER_KEY="1/min",
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": "redis://127.0.0.1:9/0",
                        "OPTIONS": {"socket_connect_timeout": 0.5}}},
)  # fmt: skip
def test_limits_let_requests_through_when_redis_is_down(api):
    assert [api.get("/api/v1/pipeline").status_code for _ in range(3)] == [200, 200, 200]


@override_settings(MQA_RATE_PER_ADDRESS="10/min")
def test_on_redis_concurrent_requests_never_take_more_places_than_the_limit(db):
    request = Request(RequestFactory().get("/api/v1/pipeline", REMOTE_ADDR="10.1.2.3"))
    start = threading.Barrier(8)

    def ask(_: int) -> list[bool]:
        start.wait()
        return [AddressLimit().allow_request(request, None) for _ in range(5)]

    with redis_cache(), ThreadPoolExecutor(8) as pool:
        answers = [a for answers in pool.map(ask, range(8)) for a in answers]
        refused = AddressLimit()
        again = refused.allow_request(request, None)

    assert answers.count(True) == 10
    assert again is False
    assert 0 < refused.wait() <= 60  # type: ignore[operator]


def login(client: Client, password: str) -> int:
    response = client.post("/admin/login/?next=/review/", {"username": "ann", "password": password})
    return response.status_code if response.status_code != 302 else 302


def test_the_login_locks_out_after_five_wrong_passwords(db):
    get_user_model().objects.create_superuser("ann", "ann@example.com", "a-long-passphrase-1")
    browser = Client()

    wrong = [login(browser, f"guess-{i}") for i in range(5)]
    right = login(browser, "a-long-passphrase-1")

    assert wrong == [200, 200, 200, 200, 429]
    assert right == 429
    assert "_auth_user_id" not in browser.session
    assert login(Client(REMOTE_ADDR="10.0.0.9"), "a-long-passphrase-1") == 302


@override_settings(DEBUG=False)
def test_the_demo_login_is_refused_outside_debug(db):
    with pytest.raises(CommandError, match="only for the embedded demo"):
        call_command("seed_demo", "--accounts", "1")

    assert get_user_model().objects.count() == 0


def test_a_weak_password_is_refused_where_logins_are_made(db):
    form = AdminUserCreationForm(
        data={"username": "bob", "password1": "1", "password2": "1", "usable_password": "true"}
    )

    assert not form.is_valid()
    assert form.errors["password2"] == [
        "This password is too short. It must contain at least 12 characters.",
        "This password is too common.",
        "This password is entirely numeric.",
    ]
    assert get_user_model().objects.count() == 0
