"""Request limits per client address and per API key (SPEC §7: 429 with `Retry-After`).

Counts live in the cache (Redis when `REDIS_URL` is set, so every web process shares them).
The limits are settings (`MQA_RATE_*`, e.g. `600/min`, or `none`); bulk ingest has its own, generous one,
since one request carries up to 1000 items. A cache that cannot be reached lets requests
through: a limit must not turn a Redis outage into an ingest outage (SPEC §5).

Each limit is DRF's sliding log (the times of the requests let through in the last period; a
request is refused when the log is full). On Redis the log is a sorted set checked and written
by one script, in one round trip: DRF's own way reads the whole log as a pickled list and
writes it back (two round trips, each through a newly built client), which cost 1.1 ms of CPU
per request — twice the rest of a readiness GET — and let two concurrent requests both take
the last place. Elsewhere (the embedded default's local memory cache) DRF's way is kept.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from mqa.models import ApiKey

logger = logging.getLogger(__name__)


# KEYS[1] the log; ARGV: now, period (seconds), limit, this request's member. Drops the times
# older than the period (as DRF: `<= now - period`); full → {0, size, oldest}; else adds now.
SLIDING_LOG = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local size = redis.call('ZCARD', KEYS[1])
if size >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, size, oldest[2]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return {1, size + 1, ''}
"""

_scripts: dict[str, Any] = {}
_scripts_lock = threading.Lock()


def _sliding_log() -> Any:
    """The script, registered on a client of the cache's Redis (one per location and process,
    kept); None when the cache is not Redis."""
    if not isinstance(caches["default"], RedisCache):
        return None
    config: dict[str, Any] = settings.CACHES["default"]
    servers = config["LOCATION"]  # as Django's: the first of several is the one written to
    location = str((servers.split(",") if isinstance(servers, str) else servers)[0])
    with _scripts_lock:
        if location not in _scripts:
            options = config.get("OPTIONS", {})
            client = redis.Redis.from_url(
                location,
                socket_connect_timeout=options.get("socket_connect_timeout"),
                socket_timeout=options.get("socket_timeout"),
            )
            _scripts[location] = client.register_script(SLIDING_LOG)
        return _scripts[location]


class _Limit(SimpleRateThrottle):
    cache_format = "mqa-rate:%(scope)s:%(ident)s"

    def __init__(self) -> None:  # the rate is read per request: settings can change in tests
        self.refused: tuple[int, float] | None = None  # (log size, its oldest time) when full

    def rate_for(self, view: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = self.rate_for(view)
        if not rate or rate == "none":
            return True
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            script = _sliding_log()
            if script is None:
                return super().allow_request(request, view)
            return self._allow_on_redis(request, view, script)
        except RedisError as error:  # the cache is down: let the request through
            logger.warning("rate limit not checked, the cache is unavailable: %s", error)
            return True

    def _allow_on_redis(self, request: Request, view: Any, script: Any) -> bool:
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        member = f"{self.now!r}:{secrets.token_hex(4)}"
        allowed, size, oldest = script(
            keys=[self.key], args=[repr(self.now), self.duration, self.num_requests, member]
        )
        if allowed:
            return True
        self.refused = (int(size), float(oldest))
        return False

    def wait(self) -> float | None:
        if self.refused is None:
            return super().wait()
        size, oldest = self.refused  # as DRF's: the time left, shared by the places to come
        remaining = self.duration - (self.now - oldest)
        places = self.num_requests - size + 1
        return remaining / places if places > 0 else None


class AddressLimit(_Limit):
    """Every request of a client address, with or without a valid key (slows key guessing)."""

    scope = "address"

    def rate_for(self, view: Any) -> str | None:
        return str(settings.MQA_RATE_PER_ADDRESS or "")

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class KeyLimit(_Limit):
    """The requests of one API key; bulk ingest views (`rate = "ingest"`) count apart."""

    scope = "key"

    def rate_for(self, view: Any) -> str | None:
        if getattr(view, "rate", None) == "ingest":
            return str(settings.MQA_RATE_INGEST_PER_KEY or "")
        return str(settings.MQA_RATE_PER_KEY or "")

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = request.auth
        if not isinstance(key, ApiKey):
            return None  # no key: the address limit applies, and the view answers 401
        kind = getattr(view, "rate", None) or "api"
        return self.cache_format % {"scope": f"{self.scope}:{kind}", "ident": key.pk}
