"""Structured logs: one JSON object per line (``--log-format json``) or readable text.

Every line carries ``ts`` (UTC, ISO 8601 with milliseconds), ``level``,
``logger`` and ``message``, then its *context*: the fields bound for the
current task with :func:`log_context` (the request id of the HTTP request
being served, bound by the request middleware) and the ``extra={...}`` fields
of the call, e.g. ``log.info("placed", extra={"orderId": 12, "clientId": 17})``.
An exception adds ``exc`` (its traceback text).

The standard library's :mod:`logging` with a small formatter of our own: no
extra dependency, the field names are ours, and third-party loggers (uvicorn,
SQLAlchemy, the client) come out in the same shape.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Literal

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "LogFormat",
    "TextFormatter",
    "bind_context",
    "configure_logging",
    "current_context",
    "log_context",
]

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = ("text", "json")

_context: ContextVar[Mapping[str, Any] | None] = ContextVar("twsbridge_log_context",
                                                           default=None)

#: Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message", "asctime", "taskName", "color_message"}  # uvicorn's ANSI-coloured copy


def current_context() -> Mapping[str, Any]:
    """The context fields bound for the current task (read-only)."""
    return _context.get() or {}


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind ``fields`` to every log line of the current task (and the tasks it starts)
    until the block ends; ``None`` values are left out."""
    merged = {**current_context(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def bind_context(**fields: Any) -> None:
    """Add ``fields`` to the current task's context (until the bound block ends)."""
    _context.set({**current_context(), **{k: v for k, v in fields.items() if v is not None}})


def record_context(record: logging.LogRecord) -> dict[str, Any]:
    """The context of ``record``: the task's bound fields, then the call's ``extra``."""
    fields = dict(current_context())
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_"):
            fields[key] = value
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    when = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, then the context."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record_context(record).items():
            line.setdefault(key, _jsonable(value))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``ts LEVEL logger: message key=value ...`` (the context as key=value pairs)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as readable text (a traceback on the following lines)."""
        head = f"{_timestamp(record)} {record.levelname:<8} {record.name}: {record.getMessage()}"
        fields = record_context(record)
        if fields:
            head += " " + " ".join(f"{k}={_text(v)}" for k, v in fields.items())
        if record.exc_info:
            head += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            head += "\n" + record.exc_text
        return head


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n')) else text


_HANDLER_NAME = "twsbridge"


def configure_logging(level: str = "info", fmt: str = "text") -> logging.Handler:
    """Send every log record (the service's, uvicorn's, the client's ...) to standard
    error in ``fmt`` (``"text"`` or ``"json"``); ``level`` applies to twsbridge and
    uvicorn, other libraries log warnings and worse. Calling it again replaces the
    handler it installed before.

    Raises:
        ValueError: an unknown ``fmt`` or ``level``.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)} (got {fmt!r})")
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ("twsbridge", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()  # uvicorn's own handlers would print a second, other shape
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # twsbridge.access logs requests
    return handler
