"""Structured JSON logs carrying the current request's correlation id."""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar

import msgspec

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_encoder = msgspec.json.Encoder()
# Attributes every LogRecord has; anything else was passed through `extra=` and is logged.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, litestar's, granian's) to one JSON stream on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The JSON lines carry none of the caller's file, line, thread or process: not looking
    # them up for every record is the logging HOWTO's "Optimization" (the access log
    # writes one record per request).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for noisy in ("granian.access", "sqlalchemy.engine", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
