"""API keys: created with their scopes, shown once, stored as a hash, checked in constant time.

A key that checked out is remembered in this process, by its secret's hash, for at most
`MQA_API_KEY_CACHE_SECONDS` (0: not at all), so that a hot read answers without reading the key.
Revocation is honoured in every process within that many seconds, with no signalling between
processes: an entry lives for the TTL counted from *before* the read that filled it, so a key
revoked at time R is refused by every process from R + TTL at the latest. The process that
revokes forgets the key at once (a check of it reading the database at that very moment may
still remember it, for the TTL). A key never remembered is refused at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
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


# Seconds, monotonic; replaced in tests so that expiry needs no sleeping.
clock: Callable[[], float] = time.monotonic


class _Remembered:
    """Verified keys by their secret's hash, each with the monotonic time it expires at.

    Shared by a process's threads: every access holds the lock (all are a dict operation or
    two). Only keys that checked out are kept, so the size is bounded by the live keys in use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[ApiKey, float]] = {}

    def get(self, digest: str, now: float) -> ApiKey | None:
        with self._lock:
            entry = self._keys.get(digest)
            if entry is None:
                return None
            if now >= entry[1]:
                del self._keys[digest]
                return None
            return entry[0]

    def put(self, digest: str, key: ApiKey, expires: float) -> None:
        with self._lock:
            self._keys[digest] = (key, expires)

    def forget(self, key_ids: set[int]) -> None:
        with self._lock:
            for digest in [d for d, (key, _) in self._keys.items() if key.pk in key_ids]:
                del self._keys[digest]

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


_remembered = _Remembered()


def api_key_check(*, secret: str) -> ApiKey | None:
    """The live key this secret belongs to, or None.

    The key is shared between the requests of this process while remembered: read it, never
    change it.
    """
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    digest = _hash(secret)
    ttl = float(settings.MQA_API_KEY_CACHE_SECONDS)
    started = clock()
    if ttl > 0:
        # Found by the full SHA-256 of the secret: a hit proves the secret as the stored
        # hash's comparison would.
        remembered = _remembered.get(digest, started)
        if remembered is not None:
            return remembered
    key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.hashed_key, digest):
        return None
    _last_used_record(key)
    if ttl > 0:
        _remembered.put(digest, key, started + ttl)
    return key


def _last_used_record(key: ApiKey) -> None:
    """Recorded coarsely (at most once per `LAST_USED_RESOLUTION`, and only when the key is
    read, not on a remembered hit) so that reads stay free of writes on the hot path."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at <= LAST_USED_RESOLUTION:
        return
    # Compare-and-swap: of several processes reading a stale value, one writes.
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=key.pk
    ).update(last_used_at=now)


def api_key_revoke(*, key_ids: Iterable[int]) -> int:
    """Revoke keys: refused at once in this process, within the cache TTL in the others."""
    ids = set(key_ids)
    count = ApiKey.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _remembered.forget(ids)
    return count


def api_key_cache_clear() -> None:
    """Forget every remembered key of this process (tests)."""
    _remembered.clear()
