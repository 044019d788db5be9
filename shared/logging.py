"""Structured JSON logs carrying the current request's correlation id."""

from __future__ import annotations

import functools
import logging
import sys
import time
from contextvars import ContextVar
from typing import TextIO

import msgspec

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_encoder = msgspec.json.Encoder()
# Attributes every LogRecord has; anything else was passed through `extra=` and is logged.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


@functools.lru_cache(maxsize=4)
def _second(epoch_second: int) -> str:
    """The UTC time of a second, formatted once (the access log asks thousands of times)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_second))


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = self.entry(record.created, record.levelname.lower(), record.name)
        entry["msg"] = record.getMessage()
        entry["request_id"] = request_id_var.get()
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode()

    def entry(self, created: float, level: str, logger: str) -> dict[str, object]:
        return {
            "ts": f"{_second(int(created))}.{int(created * 1000) % 1000:03d}Z",
            "level": level,
            "service": self.service,
            "logger": logger,
        }


class AccessLog:
    """One line per request, the same JSON as every record, in one write.

    It runs for every request, so it skips what the logging module does per record (a
    record object, filters, the handler's lock); it is on when the ``access`` logger is
    enabled for INFO (``LOG_LEVEL``), checked when the service starts.
    """

    def __init__(self) -> None:
        self.stream: TextIO | None = None
        self.formatter = JsonFormatter("-")

    def write(self, method: str, path: str, status: int, duration_ms: float) -> None:
        if self.stream is None:
            return
        entry = self.formatter.entry(time.time(), "info", "access")
        entry["msg"] = f"{method} {path} {status}"
        entry["request_id"] = request_id_var.get()
        entry["status"] = status
        entry["duration_ms"] = duration_ms
        self.stream.write(_encoder.encode(entry).decode() + "\n")
        self.stream.flush()


access_log = AccessLog()


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
    access_log.formatter = JsonFormatter(service)
    enabled = logging.getLogger("access").isEnabledFor(logging.INFO)
    access_log.stream = sys.stdout if enabled else None
    for noisy in ("granian.access", "sqlalchemy.engine", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
