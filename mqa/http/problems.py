"""One error shape for every answer of `/api/` and `/v1/` (SPEC §7 *Errors*, RFC 9457).

Views raise; they never build error bodies. `exception_handler` (DRF's hook) and the
Django-level handlers below turn whatever was raised into `application/problem+json`:
`{"type", "title", "status", "detail"}`, plus `errors` for validation problems, whose items
carry `message` and, where they apply, `index` (an item of a bulk body), `field` (a dotted
field) or `path` (a document path). A database that cannot be reached is a 503 with
`Retry-After`, never a 500 or an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
API_PREFIXES = ("/api/", "/v1/")
# How long a client should wait before retrying when the database is unreachable.
UNAVAILABLE_RETRY_SECONDS = 5


class Problem(exceptions.APIException):
    """An error a view raises: its status, a sentence for people, and optional `errors`."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code, self.errors, self.headers = status, errors, dict(headers or {})
        super().__init__(detail)


def invalid(errors: list[dict[str, Any]], detail: str = "the request is invalid") -> Problem:
    """A 400 whose `errors` name each bad value."""
    return Problem(400, detail, errors)


def invalid_field(field: str, message: str, *, status: int = 400) -> Problem:
    return Problem(status, f"{field}: {message}", [{"field": field, "message": message}])


def invalid_fields(errors: Mapping[str, Any]) -> Problem:
    """A 400 from a filter set's or a serializer's `{field: [messages]}`."""
    flat = _flatten(errors)
    return invalid(
        flat,
        "; ".join(f"{e['field']}: {e['message']}" if "field" in e else e["message"] for e in flat),
    )


def not_found(what: str) -> Problem:
    return Problem(404, f"no {what}")


def conflict(detail: str) -> Problem:
    return Problem(409, detail)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def problem_body(status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> dict:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """The problem as a plain Django response (middleware and Django's own handlers)."""
    response = JsonResponse(problem_body(status, detail, errors), status=status)
    response["Content-Type"] = MEDIA_TYPE
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def unavailable_response(error: Exception) -> HttpResponse:
    logger.warning("database unavailable: %s", error)
    return problem_response(*_unavailable())


def _unavailable() -> tuple[int, str, None, dict[str, str]]:
    return (
        503,
        "the database is unavailable; retry shortly",
        None,
        {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
    )


def database_unavailable(error: BaseException) -> bool:
    """Whether a database error means it cannot be reached (or answered us with a transient
    failure), as opposed to a bug."""
    return isinstance(error, OperationalError | InterfaceError)


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's exception hook: every error of every API view becomes a problem."""
    # Imported here: rest_framework.views reads the parser setting, which names this package.
    from rest_framework.views import set_rollback

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if database_unavailable(exc):
        set_rollback()
        logger.warning("database unavailable: %s", exc, exc_info=exc)
        status, detail, errors, headers = _unavailable()
    elif isinstance(exc, DataError):
        # The last line: validation should have named the field before the database saw it.
        set_rollback()
        logger.warning("a value the database refused reached it: %s", exc)
        status, detail, errors, headers = 400, "a value is out of range for storage", None, {}
    elif isinstance(exc, exceptions.APIException):
        set_rollback()
        status, detail, errors, headers = _from_api_exception(exc)
    else:
        return None  # a bug: Django's 500 handler answers (a problem, on these paths)
    return Response(
        problem_body(status, detail, errors),
        status=status,
        headers=headers,
        content_type=MEDIA_TYPE,
    )


def _from_api_exception(
    exc: exceptions.APIException,
) -> tuple[int, str, list[dict[str, Any]] | None, dict[str, str]]:
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, round(exc.wait)))
    if isinstance(exc, Problem):
        return exc.status_code, str(exc.detail), exc.errors, {**headers, **exc.headers}
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        return 400, "the request is invalid", errors, headers
    detail = exc.detail
    text = str(detail) if not isinstance(detail, list | dict) else str(exc.default_detail)
    return exc.status_code, text, None, headers


def _flatten(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    """DRF's nested `{field: [messages]}` as a flat list of `{"field", "message"}`."""
    if isinstance(detail, Mapping):
        out = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "__all__") else str(key)
            out += _flatten(value, f"{field}.{name}" if field and name else (name or field))
        return out
    if isinstance(detail, list | tuple):
        out = []
        for position, value in enumerate(detail):
            if isinstance(value, Mapping | list | tuple):
                out += _flatten(value, f"{field}[{position}]" if field else f"[{position}]")
            else:
                out += _flatten(value, field)
        return out
    error: dict[str, Any] = {"message": str(detail)}
    if field is not None:
        error["field"] = field
    return [error]


# Django's own handlers (config/urls.py): a problem on API paths, Django's page elsewhere.
def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path):
        return problem_response(400, str(exception) or "bad request")
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path):
        return problem_response(403, "forbidden")
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request.path):
        return problem_response(404, "no such resource")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return problem_response(500, "an internal error; it has been logged")
    return defaults.server_error(request)
