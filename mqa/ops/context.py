"""What a log line says about where it comes from: the request, the API key, the task.

Set by the request middleware (`mqa.ops.middleware`), the API key authentication and the
Celery task signals (`config.celery`); read by the JSON log formatter (`config.logging`).
"""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
API_KEY: ContextVar[str | None] = ContextVar("api_key", default=None)
TASK_ID: ContextVar[str | None] = ContextVar("task_id", default=None)
CONTEXT = {"request_id": REQUEST_ID, "api_key": API_KEY, "task_id": TASK_ID}
