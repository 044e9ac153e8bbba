"""Log lines as one JSON object each (`MQA_LOG_FORMAT=json`, what `make serve` uses): time,
level, logger, message, the request id / API key / task id of where it was logged, and the
fields passed with `extra=`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from mqa.ops.context import CONTEXT

# The attributes every LogRecord has; anything else on a record came in through `extra=`.
STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, variable in CONTEXT.items():
            value = variable.get()
            if value is not None:
                entry[name] = value
        entry |= {k: v for k, v in vars(record).items() if k not in STANDARD and v is not None}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
