"""The probes: `/healthz` (the process answers; checks nothing else) and `/readyz` (200 when
every dependency works, else 503 naming what is down), without authentication: they say
nothing about the data. `/metrics` (Prometheus text) asks for `Authorization: Bearer
<MQA_METRICS_TOKEN>` when that is set."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mqa.ops.checks import readiness_get
from mqa.ops.metrics import metrics_text

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    readiness = readiness_get()
    return JsonResponse(readiness, status=200 if readiness["ready"] else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.MQA_METRICS_TOKEN
    if token and request.META.get("HTTP_AUTHORIZATION", "") != f"Bearer {token}":
        response = JsonResponse({"detail": "a bearer token is required"}, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(metrics_text(), content_type=PROMETHEUS_TEXT)
