"""API keys: created with their scopes, shown once, stored as a hash, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from mqa.models import ApiKey

KEY_PREFIX = "mqa"
SCOPES = tuple(ApiKey.Scope.values)
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
    """Returns the stored key and its secret, which is never shown again."""
    scopes = sorted({scope.strip().lower() for scope in scopes if scope.strip()})
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)}; use {', '.join(SCOPES)}")
    if not name.strip():
        raise ValueError("the key needs a name")
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name.strip(), prefix=prefix, hashed_key=_hash(secret), scopes=scopes
    )
    return key, secret


def api_key_check(*, secret: str) -> ApiKey | None:
    """The live key this secret belongs to, or None."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.hashed_key, _hash(secret)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # Recorded coarsely so that reads stay free of writes on the hot path.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def api_key_revoke(*, key_ids: Iterable[int]) -> int:
    return ApiKey.objects.filter(pk__in=list(key_ids), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
