"""Every request gets an id (the client's `X-Request-ID` when it is a sane one), answered in
`X-Request-ID`, carried by every log line of the request, and counted in the HTTP metrics
by route; one log line per request states method, path, status and duration."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from mqa.http.bodies import NUL_MESSAGE
from mqa.http.problems import (
    UNAVAILABLE_RETRY_SECONDS,
    database_unavailable,
    is_api_path,
    problem_response,
    unavailable_response,
)
from mqa.ops.context import API_KEY, REQUEST_ID
from mqa.ops.metrics import HTTP_LATENCY, HTTP_REQUESTS

logger = logging.getLogger("mqa.requests")
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
        tokens = (REQUEST_ID.set(request_id), API_KEY.set(None))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            match = request.resolver_match
            route = match.route if match is not None else "(unmatched)"
            HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
            HTTP_LATENCY.labels(route).observe(elapsed)
            response["X-Request-ID"] = request_id
            logger.info(
                "request",
                extra={
                    # Stated here, not only read from the context at formatting time: a
                    # handler that formats later (a queue, a test's capture) sees them too.
                    "request_id": request_id,
                    "api_key": API_KEY.get(),
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            return response
        finally:
            REQUEST_ID.reset(tokens[0])
            API_KEY.reset(tokens[1])


class ProblemMiddleware:
    """What no view should have to think about (SPEC §7 *Errors*): a NUL character in a path
    or query string is a 400 naming it, before anything reads the database (PostgreSQL
    refuses NUL in a query) — a problem on API paths, plain text on the pages; a database
    that cannot be reached answers 503 with `Retry-After` on every page, as a problem on API
    paths (API views answer it themselves, through the same handler)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = _nul_refusal(request)
        if refused is None:
            return self.get_response(request)
        detail, field = refused
        if is_api_path(request.path):
            return problem_response(400, detail, [{"field": field, "message": NUL_MESSAGE}])
        return HttpResponse(f"{detail}.\n", status=400, content_type="text/plain; charset=utf-8")

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        if is_api_path(request.path):
            return unavailable_response(exception)
        logger.warning("database unavailable: %s", exception)
        response = HttpResponse(
            "The service cannot reach its database right now; retry shortly.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
        return response


def _nul_refusal(request: HttpRequest) -> tuple[str, str] | None:
    """Why the request's path or query must be refused, and the field it names, or None."""
    if "\x00" in request.path:
        return "the path must not contain NUL (\\u0000) characters", "path"
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            field = name.replace("\x00", "\\u0000")
            return f"the query parameter {field!r} must not contain NUL characters", field
    return None
