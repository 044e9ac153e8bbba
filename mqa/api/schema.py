"""OpenAPI schema post-processing shared by every operation."""

from __future__ import annotations

from typing import Any

from mqa.http.problems import MEDIA_TYPE

PROBLEM = {"schema": {"$ref": "#/components/schemas/ProblemOut"}}
EVERY_OPERATION = {
    "429": "too many requests: wait `Retry-After` seconds",
    "503": "the database is unreachable: retry after `Retry-After` seconds",
}
WITH_A_BODY = {"415": "the body is not JSON (`Content-Type: application/json`)"}


def document_problems(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every error is `application/problem+json` (SPEC §7): say so once, here. Every operation
    may be limited (429) or find the database down (503); every one that reads a body parses
    JSON only, and answers another media type with 415 before the view runs."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            common = {**EVERY_OPERATION, **(WITH_A_BODY if "requestBody" in operation else {})}
            for code, description in common.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if int(code) >= 400:
                    response["content"] = {MEDIA_TYPE: PROBLEM}
    return result
