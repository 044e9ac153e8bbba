"""The probes: `/healthz` (the process answers; checks nothing else) and `/readyz` (200 when
every dependency works, else 503 naming what is down). No authentication: they say nothing
about the data."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mqa.ops.checks import readiness_get


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    readiness = readiness_get()
    return JsonResponse(readiness, status=200 if readiness["ready"] else 503)
