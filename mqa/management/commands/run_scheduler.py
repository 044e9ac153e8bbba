"""`manage.py run_scheduler`: periodic work and rescores in-process, for the embedded
quickstart (no Redis, no Celery worker); see `mqa.ops.scheduler`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from mqa.ops.scheduler import scheduler_tick


class Command(BaseCommand):
    help = "Run the periodic tasks and running rescores in this process (embedded mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")

    def handle(self, *args: Any, interval: float, **options: Any) -> None:
        self.stdout.write("scheduler: periodic tasks and rescores run here (Ctrl-C stops)")
        last: dict[str, float] = {}
        try:
            while True:
                close_old_connections()
                scheduler_tick(now=time.monotonic(), last=last)
                time.sleep(interval)
        except KeyboardInterrupt:
            return
