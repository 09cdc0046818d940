"""Structured logs: one JSON object per line, with the request id, and never a
secret in them.

``LOG_FORMAT = "json"`` (the default) writes JSON lines to stderr, where gunicorn,
systemd or a container runtime collect them; ``"text"`` is for reading at a
terminal. Every record made during a request carries its ``request_id`` (the
``X-Request-Id`` the client sent, or one made up), method and path; one
``request`` record per request adds the status, the user id and the duration.

Redaction is the last line of defence, applied to every record whatever logged
it: bearer tokens, ``ldg_`` tokens, passwords in URLs or ``key=value`` form, bank
account numbers (IBAN-shaped, or named ``bank_account``) and the values in
PostgreSQL's ``Key (...)=(...)`` details become ``[redacted]``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
from typing import Any

from flask import Flask, Response, g, has_request_context, request

REDACTED = "[redacted]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), rf"\1 {REDACTED}"),
    (re.compile(r"\bldg_[A-Za-z0-9_\-]+"), f"ldg_{REDACTED}"),
    (
        re.compile(r"(?i)\b(password|passwd|pwd|secret|token)(\"?\s*[=:]\s*\"?)[^\s\"',;&]+"),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"(://[^:/@\s]+:)[^@/\s]+@"), rf"\1{REDACTED}@"),
    (re.compile(r"(?i)(bank_account\"?\s*[=:]\s*\"?)[^\"',;}\s]+"), rf"\1{REDACTED}"),
    (re.compile(r"(Key \([^)]*\)=\()[^)]*\)"), rf"\1{REDACTED})"),
    # IBAN: country, check digits, 11 to 30 letters and digits (spaces allowed).
    (re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b"), REDACTED),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestContextFilter(logging.Filter):
    """Adds the current request's id, method and path to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(g, "request_id", None)
            record.method = request.method
            record.path = request.path
        return True


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; extra fields (``log.info(..., extra={...})``) included."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        # Once more on the whole line: extras that are not strings (dicts, lists).
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return redact(super().format(record))


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def make_handler(log_format: str, handler: logging.Handler | None = None) -> logging.Handler:
    handler = handler or StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    handler._ledger = True  # type: ignore[attr-defined]
    return handler


def configure_logging(level: str, log_format: str) -> None:
    """Install the one ledger handler on the root logger (again: replaces it)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_ledger", False)]:
        root.removeHandler(old)
    root.addHandler(make_handler(log_format))
    root.setLevel(level)


access_log = logging.getLogger("ledger.access")


def init_app(app: Flask) -> None:
    configure_logging(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "json"))

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        if not access_log.isEnabledFor(logging.INFO):  # not even the line's fields
            return response
        started = g.get("request_started")
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "status": response.status_code,
                # The id kept at authentication: touching g.user here, after the
                # transaction ended, would reload it in a new one.
                "user_id": g.get("user_id"),
                "duration_ms": None
                if started is None
                else round((time.perf_counter() - started) * 1000, 1),
                "remote_addr": request.remote_addr,
            },
        )
        return response
