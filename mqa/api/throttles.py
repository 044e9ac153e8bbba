"""Request limits per client address and per API key (SPEC §7: 429 with `Retry-After`).

Counts live in the cache (Redis when `REDIS_URL` is set, so every web process shares them).
The limits are settings (`MQA_RATE_*`, e.g. `600/min`, or `none`); bulk ingest has its own, generous one,
since one request carries up to 1000 items. A cache that cannot be reached lets requests
through: a limit must not turn a Redis outage into an ingest outage (SPEC §5).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from mqa.models import ApiKey

logger = logging.getLogger(__name__)


class _Limit(SimpleRateThrottle):
    cache_format = "mqa-rate:%(scope)s:%(ident)s"

    def __init__(self) -> None:  # the rate is read per request: settings can change in tests
        pass

    def rate_for(self, view: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = self.rate_for(view)
        if not rate or rate == "none":
            return True
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except RedisError as error:  # the cache is down: let the request through
            logger.warning("rate limit not checked, the cache is unavailable: %s", error)
            return True


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
