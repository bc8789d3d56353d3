"""JSON-lines logging with the current job id on every record.

`job_context(job_id)` sets the id for everything logged inside it (the engine's own log lines
included), so one `grep <job id>` follows a job through submitter, worker and engine.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

current_job_id: ContextVar[str | None] = ContextVar("current_job_id", default=None)

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JobIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "job_id", None) is None:
            record.job_id = current_job_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and value is not None:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup_logging(level: int = logging.INFO, json_lines: bool = True) -> None:
    """Route all logging to stderr, as JSON lines (workers) or plain text (interactive)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(JobIdFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(job_id)s] %(message)s")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


@contextmanager
def job_context(job_id: str) -> Iterator[None]:
    token = current_job_id.set(job_id)
    try:
        yield
    finally:
        current_job_id.reset(token)
