"""The Celery app (`celery -A config worker`); configured from Django settings `CELERY_*`.

Each task's id is put where log lines find it (`mqa.ops.context`).
"""

import os

from celery import Celery, signals

from mqa.ops.context import TASK_ID

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mqa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **_: object) -> None:
    TASK_ID.set(task_id)


@signals.task_postrun.connect
def _task_finished(**_: object) -> None:
    TASK_ID.set(None)
