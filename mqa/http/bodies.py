"""Reading JSON bodies, the one way every endpoint does it (SPEC §7 *Errors*).

A body must be JSON (`Content-Type: application/json`, else 415), at most 1 MB (else 413),
valid UTF-8 and JSON, nested at most 64 deep and free of NUL characters (else 400 naming the
field). msgspec decodes: it is fast on the hot ingest path and reads big numbers exactly.
"""

from __future__ import annotations

from typing import Any

import msgspec
from django.http import HttpRequest
from rest_framework.parsers import BaseParser

from mqa.http.problems import Problem, invalid

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 64
NUL_MESSAGE = "must not contain NUL (\\u0000) characters"


def require_json(request: HttpRequest) -> None:
    media_type = request.content_type or ""
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(
            415,
            f"the body must be JSON (Content-Type: application/json), not {media_type or 'none'!r}",
        )


def body_bytes(request: HttpRequest) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if (declared.isdigit() and int(declared) > MAX_BODY_BYTES) or len(
        body := request.body
    ) > MAX_BODY_BYTES:
        raise too_large()
    return body


def too_large() -> Problem:
    message = f"the body is larger than {MAX_BODY_BYTES} bytes"
    return Problem(413, message, [{"field": "body", "message": message}])


def json_document(body: bytes, *, bulk: bool = False, list_key: str = "items") -> Any:
    """The decoded body, or a 400 that names where it went wrong (for a `bulk` body, the
    item's `index` in its `list_key` list and its `field`)."""
    try:
        document = msgspec.json.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise _bad("body", f"not valid JSON: {error}") from error
    except UnicodeDecodeError as error:
        raise _bad("body", f"not valid UTF-8: {error.reason}") from error
    except RecursionError as error:
        raise _bad("body", f"nested deeper than {MAX_DEPTH} levels") from error
    problem = json_problem(document)
    if problem is None:
        return document
    path, message = problem
    if bulk and len(path) >= 2 and path[0] == list_key and isinstance(path[1], int):
        field = dotted(path[2:]) or "item"
        item = {"index": path[1], "field": field, "message": message}
        raise invalid([item], f"{list_key}[{path[1]}].{field}: {message}")
    raise _bad(dotted(path), message)


def json_problem(document: Any) -> tuple[tuple[str | int, ...], str] | None:
    """The first value nested deeper than `MAX_DEPTH` or holding a NUL: (path, message)."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(document, 0, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path, NUL_MESSAGE
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                return path, f"nested deeper than {MAX_DEPTH} levels"
            children = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in children:
                if isinstance(key, str) and "\x00" in key:
                    return (*path, key.replace("\x00", "\\u0000")), f"a key {NUL_MESSAGE}"
                stack.append((child, depth + 1, (*path, key)))
    return None


def dotted(path: tuple[str | int, ...]) -> str:
    """`("items", 3, "properties", "url")` → `items[3].properties.url`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _bad(field: str, message: str) -> Problem:
    return invalid(
        [{"field": field or "body", "message": message}], f"{field or 'body'}: {message}"
    )


class JsonParser(BaseParser):
    """DRF's parser for every API view: the checks above, the same as the bulk endpoints."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise too_large()
        return json_document(body)
