from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from mqa.models import ScoringModelVersion
from mqa.selectors import ActiveModel, scoring_model_active
from mqa.services.api_keys import SCOPES, api_key_cache_clear, api_key_create
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from tests.factories import TEST_MODEL


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    """Request limits count per address and key in the cache, and each process remembers the
    API keys it checked: each test starts with neither."""
    cache.clear()
    api_key_cache_clear()


def publish(document: dict[str, Any], *, route: bool = True) -> ScoringModelVersion:
    """Import and publish a model; the rescore runs when the caller's transaction commits."""
    version = scoring_model_import(document=document)
    scoring_model_publish(version_id=version.id, route=route)
    version.refresh_from_db()
    return version


@pytest.fixture
def test_document() -> dict[str, Any]:
    return copy.deepcopy(TEST_MODEL)


@pytest.fixture
def active_model(db: None, test_document: dict[str, Any]) -> ActiveModel:
    publish(test_document)
    active = scoring_model_active()
    assert active is not None
    return active


ClientFor = Callable[..., APIClient]


@pytest.fixture
def client_for(db: None) -> ClientFor:
    """An API client whose key has exactly the given scopes (all of them by default)."""

    def make(*scopes: str) -> APIClient:
        _, secret = api_key_create(name="test", scopes=scopes or SCOPES)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        return client

    return make


@pytest.fixture
def api(client_for: ClientFor) -> APIClient:
    return client_for()


@pytest.fixture
def second_connection(transactional_db: None) -> Iterator[psycopg.Connection[Any]]:
    """Another client of the test database, with its own transactions (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (two connections at once)")
    s = connection.settings_dict
    other = psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
    )
    yield other
    other.close()
