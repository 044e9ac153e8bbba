"""API keys remembered in memory for `MQA_API_KEY_CACHE_SECONDS`: revocation is honoured within
that many seconds in every process (at once in the one that revokes), never later."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from mqa.models import ApiKey
from mqa.services import api_keys
from mqa.services.api_keys import (
    LAST_USED_RESOLUTION,
    api_key_cache_clear,
    api_key_check,
    api_key_create,
    api_key_revoke,
)

pytestmark = pytest.mark.django_db


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    api_key_cache_clear()
    fake = Clock()
    monkeypatch.setattr(api_keys, "clock", fake)
    yield fake
    api_key_cache_clear()


@pytest.fixture
def ttl_5(settings):
    settings.MQA_API_KEY_CACHE_SECONDS = 5


def revoked_elsewhere(key: ApiKey) -> None:
    """What another process's `api_key_revoke` writes, without touching this process's memory."""
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())


def test_a_key_revoked_elsewhere_is_accepted_only_within_the_ttl(clock, ttl_5):
    key, secret = api_key_create(name="crm", scopes=["read"])
    assert api_key_check(secret=secret) == key  # cached at t=1000

    clock.now = 1001.0
    revoked_elsewhere(key)

    clock.now = 1004.999
    assert api_key_check(secret=secret) == key  # still within the 5 s it was read for
    clock.now = 1005.0
    assert api_key_check(secret=secret) is None
    clock.now = 2000.0
    assert api_key_check(secret=secret) is None


def test_a_key_never_cached_is_refused_at_once_after_revocation(clock, ttl_5):
    key, secret = api_key_create(name="crm", scopes=["read"])

    revoked_elsewhere(key)

    assert api_key_check(secret=secret) is None


def test_the_revoking_process_forgets_the_key_at_once(clock, ttl_5):
    key, secret = api_key_create(name="crm", scopes=["read"])
    assert api_key_check(secret=secret) == key

    api_key_revoke(key_ids=[key.pk])

    assert api_key_check(secret=secret) is None


def test_the_admin_action_refuses_a_key_in_use_at_once(clock, ttl_5, admin_client, client_for):
    client = client_for("read")
    key = ApiKey.objects.get()
    assert client.get("/api/v1/pipeline").status_code == 200  # the key is now cached

    admin_client.post("/admin/mqa/apikey/", {"action": "revoke", "_selected_action": [key.pk]})

    assert client.get("/api/v1/pipeline").status_code == 401
    assert client.get("/api/v1/accounts/acme.com/readiness").status_code == 401


def test_a_deleted_key_is_refused_once_the_ttl_has_passed(clock, ttl_5):
    key, secret = api_key_create(name="crm", scopes=["read"])
    assert api_key_check(secret=secret) == key

    ApiKey.objects.filter(pk=key.pk).delete()

    clock.now += 5
    assert api_key_check(secret=secret) is None


def test_a_cached_key_is_checked_without_the_database(clock, ttl_5, django_assert_num_queries):
    key, secret = api_key_create(name="crm", scopes=["read"])
    with django_assert_num_queries(2):  # the lookup, and last_used_at (never used before)
        assert api_key_check(secret=secret) == key

    clock.now += 4.9
    with django_assert_num_queries(0):
        assert api_key_check(secret=secret) == key


def test_a_wrong_secret_of_a_cached_key_is_refused(clock, ttl_5):
    key, secret = api_key_create(name="crm", scopes=["read"])
    assert api_key_check(secret=secret) == key

    assert api_key_check(secret=secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert api_key_check(secret=f"mqa_{key.prefix}_") is None


def test_zero_seconds_disables_the_cache(clock, settings, django_assert_num_queries):
    settings.MQA_API_KEY_CACHE_SECONDS = 0
    key, secret = api_key_create(name="crm", scopes=["read"])
    assert api_key_check(secret=secret) == key

    with django_assert_num_queries(1):  # read again: no memory of the first check
        assert api_key_check(secret=secret) == key
    revoked_elsewhere(key)
    assert api_key_check(secret=secret) is None


def test_zero_seconds_reads_the_key_on_every_readiness_get(
    clock, settings, client_for, django_assert_num_queries
):
    settings.MQA_API_KEY_CACHE_SECONDS = 0
    client = client_for("read")
    assert client.get("/api/v1/accounts/acme.com/readiness").status_code == 404

    for _ in range(2):
        with django_assert_num_queries(2):  # the key, the account
            assert client.get("/api/v1/accounts/acme.com/readiness").status_code == 404


def test_with_the_key_cached_a_readiness_get_reads_only_the_account(
    clock, ttl_5, client_for, django_assert_num_queries
):
    client = client_for("read")
    assert client.get("/api/v1/accounts/acme.com/readiness").status_code == 404  # reads the key

    for _ in range(2):
        with django_assert_num_queries(1):  # the account with its score and model version
            assert client.get("/api/v1/accounts/acme.com/readiness").status_code == 404


def test_last_used_at_is_written_at_most_once_per_resolution(clock, ttl_5):
    key, secret = api_key_create(name="crm", scopes=["read"])
    api_key_check(secret=secret)
    first = ApiKey.objects.get().last_used_at
    assert first is not None

    recently = timezone.now() - LAST_USED_RESOLUTION + timedelta(seconds=30)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=recently)
    clock.now += 5  # a cache miss reads the key again
    api_key_check(secret=secret)
    assert ApiKey.objects.get().last_used_at == recently

    long_ago = timezone.now() - LAST_USED_RESOLUTION - timedelta(seconds=1)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=long_ago)
    api_key_check(secret=secret)  # a hit: nothing is written
    assert ApiKey.objects.get().last_used_at == long_ago
    clock.now += 5
    api_key_check(secret=secret)  # a miss: written, the last use being long ago
    assert ApiKey.objects.get().last_used_at > long_ago


def test_threads_share_the_cache_safely(clock, ttl_5):
    key, secret = api_key_create(name="crm", scopes=["read"])
    other, other_secret = api_key_create(name="other", scopes=["read"])
    assert api_key_check(secret=secret) == key
    assert api_key_check(secret=other_secret) == other
    seen: list[ApiKey | None] = []

    # Only hits on the other threads: a miss there would read through another connection,
    # which does not see this test's transaction.
    def hits() -> None:
        seen.extend(api_key_check(secret=secret) for _ in range(500))

    threads = [threading.Thread(target=hits) for _ in range(8)]
    for thread in threads:
        thread.start()
    api_key_revoke(key_ids=[other.pk])  # forgets under the same lock as the readers
    for thread in threads:
        thread.join()

    assert len(seen) == 8 * 500 and all(found == key for found in seen)
    assert api_key_check(secret=other_secret) is None
