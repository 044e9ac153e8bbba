"""`Authorization: Api-Key <key>` authentication and per-view scopes (SPEC §7), and the
Tracking API's write key: HTTP Basic with the key as user name and an empty password (§9).

No key or an invalid key → 401; a valid key without the view's scope → 403.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from mqa.models import ApiKey
from mqa.ops.context import API_KEY
from mqa.services.api_keys import api_key_check

KEYWORD = "Api-Key"


class ApiClient:
    """The authenticated REST client (not a Django user)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def __str__(self) -> str:
        return self.key.name


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        keyword, _, secret = header.partition(" ")
        if keyword != KEYWORD:
            return None
        key = api_key_check(secret=secret.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        API_KEY.set(key.name)  # named in this request's log lines
        return ApiClient(key), key

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class WriteKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Basic base64("<key>:")`, what Segment's and RudderStack's SDKs send."""

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        keyword, _, encoded = header.partition(" ")
        if keyword.lower() != "basic":
            return None
        try:
            secret, _, _password = (
                base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError) as error:
            raise exceptions.AuthenticationFailed("the Basic credentials are not base64") from error
        key = api_key_check(secret=secret.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("invalid or revoked write key")
        API_KEY.set(key.name)
        return ApiClient(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="mqa"'


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "mqa.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create one with `manage.py create_api_key`.",
        }


class WriteKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "mqa.api.auth.WriteKeyAuthentication"
    name = "WriteKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "an API key with the `ingest` scope as user name, empty password "
            "(the SDKs' write key)",
        }


def scope(name: str) -> type[permissions.BasePermission]:
    """A permission class requiring an API key with scope `name`."""

    class HasScope(permissions.BasePermission):
        message = f"this API key lacks the {name!r} scope"

        def has_permission(self, request: Request, view: Any) -> bool:
            key = request.auth
            if not isinstance(key, ApiKey):
                raise exceptions.NotAuthenticated(
                    "an API key is required: Authorization: Api-Key <key>"
                )
            return name in key.scopes

    HasScope.__name__ = f"HasScope_{name}"
    return HasScope
