"""The problem+json bodies tests expect (SPEC §7 *Errors*)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


def problem(status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> dict:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def is_problem(response: Any, status: int) -> bool:
    """The answer is a problem of this status, in its media type."""
    return (
        response.status_code == status
        and response["Content-Type"] == "application/problem+json"
        and response.json()["status"] == status
    )
