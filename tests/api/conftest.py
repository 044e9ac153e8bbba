from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from mqa.services.api_keys import SCOPES, api_key_create

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
