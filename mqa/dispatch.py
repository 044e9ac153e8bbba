"""The one seam through which the services send Celery tasks.

Services name the task they want run; they never import `mqa.tasks`, which sits above them
(its tasks call the services), so the code reads in one direction. The tasks are registered
when Django starts (`mqa.apps`), in the web process as in the worker. With `REDIS_URL` unset
Celery runs a task in-process (eager) as it is sent. Tests that must play the workers
themselves replace `send`.
"""

from __future__ import annotations

from typing import Any

from celery import current_app

TASKS = "mqa.tasks"


def send(task: str, *args: Any) -> None:
    """Send `mqa.tasks.<task>(*args)` to a worker (run it at once in eager mode)."""
    current_app.tasks[f"{TASKS}.{task}"].delay(*args)


def runs_in_process() -> bool:
    """Whether a sent task runs at once, in the sender's process (no broker configured)."""
    return bool(current_app.conf.task_always_eager)
