"""One error path: every error becomes ``application/problem+json`` (RFC 9457).

Domain errors carry their stable ``code``; marshmallow's and werkzeug's errors are
mapped here. A refused attempt (a ``LedgerError`` with ``refusal = True``) is
recorded, with its evidence, after the refused work has been rolled back.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, json, request
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from ledger.errors import LedgerError

log = logging.getLogger(__name__)

PROBLEM_MIME = "application/problem+json"
TYPE_BASE = "https://ledger.example.org/problems/"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    if getattr(g, "request_id", None):
        body["request_id"] = g.request_id
    body.update(extra)
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_MIME)


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"field.sub": ["message"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            flat.update(flatten_messages(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "body"] = list(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            flat.update(flatten_messages(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        flat[prefix or "body"] = [str(messages)]
    return flat


def _validation_fields(data: dict[str, Any]) -> dict[str, list[str]]:
    messages = data.get("messages") or data.get("errors") or {}
    flat: dict[str, list[str]] = {}
    # webargs groups messages by location (json, query, headers, files, ...);
    # the location is not part of the field's name, except for headers.
    for location, fields in messages.items():
        if location == "headers" and isinstance(fields, dict):
            flat.update(flatten_messages(fields, ""))
        else:
            flat.update(flatten_messages(fields))
    return flat


def settle(error: LedgerError, actor: Any) -> None:
    """Undo the refused work; keep a refusal (with what must survive it, such as a
    review case opened at the moment of payment), committed on its own. The API's
    error handler and the console both end a refused act here."""
    from ledger.db import db

    session = db.session
    session.rollback()
    if error.refusal:
        from ledger.compliance.services import record_refusal

        try:
            for action in error.deferred:
                action(session)
            record_refusal(session, actor, error)
            session.commit()
        except Exception:  # the refusal itself must still be answered
            session.rollback()
            log.exception("could not record refused attempt")


def handle_ledger_error(error: LedgerError) -> Response:
    settle(error, getattr(g, "user", None))
    return problem(
        error.status, error.code, error.title, error.detail, errors=error.errors, **error.extra
    )


def handle_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    data = getattr(error, "data", None) or {}
    errors = None
    if status == 422 or data.get("messages"):
        errors = _validation_fields(data)
        status, code = 422, "validation_error"
        fields = ", ".join(f"{k}: {'; '.join(v)}" for k, v in errors.items())
        detail = f"Invalid input. {fields}" if fields else "Invalid input."
        title = "The request is not valid"
    else:
        title = error.name
        detail = error.description or error.name
    if status == 413:
        limit = request.max_content_length  # the route's own, where it has one
        detail = f"The request body is too large: the limit is {limit} bytes."
    response = problem(status, code, title, detail, errors=errors)
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    retry_after = getattr(error, "retry_after", None)
    if status == 429 and isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


# Unique constraints that back a rule the services check first: a request that
# raced another past the check is answered as the check would have answered it.
# (PostgreSQL names the constraint; SQLite its columns.)
_RACED = {
    ("uq_disbursements_fund_id_reference", "disbursements.fund_id, disbursements.reference"): (
        "a disbursement of this fund carries this bank reference already: a reference pays once"
    ),
    ("uq_contributions_pledge_id_reference", "contributions.pledge_id, contributions.reference"): (
        "a contribution to this pledge carries this bank "
        "reference already: a reference is recorded once"
    ),
}


def handle_integrity_error(error: IntegrityError) -> Response:
    from ledger.db import db

    db.session.rollback()
    log.warning("integrity error on %s %s: %s", request.method, request.path, error.orig)
    for markers, detail in _RACED.items():
        if any(marker in str(error.orig) for marker in markers):
            return problem(
                409,
                "reference_in_use",
                "Bank reference already used",
                f"Refused: {detail}.",
                errors={"reference": [detail.capitalize() + "."]},
            )
    return problem(
        409, "conflict", "Conflict with existing data", "The change conflicts with existing data."
    )


def handle_data_error(error: DataError) -> Response:
    """The last guard: a value the schemas let through but the database refuses
    (out of range, bad encoding). The schemas should catch each such case by name."""
    from ledger.db import db

    db.session.rollback()
    log.error("data error on %s %s: %s", request.method, request.path, error.orig)
    return problem(
        422,
        "validation_error",
        "The request is not valid",
        "A value is out of the range or form the ledger can store; nothing was changed.",
    )


def handle_operational_error(error: OperationalError) -> Response:
    from ledger.db import db

    db.session.rollback()
    log.error("database error on %s %s: %s", request.method, request.path, error.orig)
    response = problem(
        503,
        "database_unavailable",
        "Database busy or unavailable",
        "The database could not complete the request; nothing was changed. Retry.",
    )
    response.headers["Retry-After"] = "1"
    return response


def handle_unexpected(error: Exception) -> Response:
    from ledger.db import db

    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(
        500,
        "internal_error",
        "Internal error",
        "The server failed to handle the request; nothing was changed.",
    )


def init_app(app: Flask) -> None:
    app.register_error_handler(LedgerError, handle_ledger_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(DataError, handle_data_error)
    app.register_error_handler(OperationalError, handle_operational_error)
    app.register_error_handler(Exception, handle_unexpected)
