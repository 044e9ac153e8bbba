"""OpenAPI schema post-processing shared by every operation."""

from __future__ import annotations

from typing import Any

UNSUPPORTED = {
    "description": "the body is not JSON (`Content-Type: application/json`)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}},
}


def document_unsupported_media_type(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Every operation that reads a body parses JSON only, and DRF answers any other media
    type with 415 before the view runs: say so once, here, for all of them."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("415", UNSUPPORTED)
    return result
