"""The flask-smorest Api, shared schemas, and pagination."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import http
from typing import Any

import marshmallow as ma
import pycountry
import sqlalchemy as sa
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import prepare_response
from marshmallow import fields, validate
from sqlalchemy.orm import Session
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request

from ledger import jsonbody
from ledger.db import utcnow
from ledger.errors import Forbidden, LedgerError, Unauthenticated, ValidationFailed
from ledger.money import Money, MoneyError, is_currency, minor_units, parse_rate
from ledger.problems import PROBLEM_MIME
from ledger.screening.text import describe_hidden, hidden_characters


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem, as every error of this API is answered. Some problems
    carry extension members (RFC 9457 §3.2), e.g. the ``payee_id`` of a refusal."""

    class Meta:
        # Documented as additionalProperties: true, so extension members conform.
        unknown = ma.INCLUDE

    type = fields.String(metadata={"description": "A URI naming the kind of problem"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String(metadata={"description": "Stable machine-readable code"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "For validation errors: each field and its messages"},
    )
    request_id = fields.String()


class LedgerApi(Api):  # type: ignore[misc]
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        """Document every error response (the ``default`` one, and the 422 that
        ``@blp.arguments`` adds) as what it is: ``application/problem+json``."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_MIME)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIME)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


class BodyParser(FlaskParser):
    """webargs' parser, reading a JSON body with ``jsonbody.load``: a body nested
    too deep, a number too long or a lone surrogate is a 422 naming the rule, not a
    crash."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return webargs_core.missing
        try:
            text = req.get_data(cache=True).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("body", f"Not UTF-8 text (byte {exc.start}).") from None
        if not text.strip():
            return webargs_core.missing  # no body: the schema names what is required
        return jsonbody.load(text, "body")


class Blueprint(SmorestBlueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint, with each argument schema built once, when the view
    is declared. Given a class, webargs builds an instance on every request, and
    building a marshmallow Schema costs more than loading a small body with it; an
    instance is reused safely (loading keeps no state on the schema). JSON bodies
    are read by ``BodyParser``."""

    ARGUMENTS_PARSER = BodyParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


def problems(blp: Any, *errors: type[LedgerError]) -> Any:
    """Document, on an operation, the problems it may answer: one response per
    status, naming each stable ``code`` (the codes are in ledger/errors.py)."""
    by_status: dict[int, list[str]] = {}
    documented: tuple[type[LedgerError], ...] = (Unauthenticated, Forbidden, *errors)
    for error in documented:
        by_status.setdefault(error.status, []).append(error.code)

    def decorator(view: Any) -> Any:
        for status, codes in sorted(by_status.items()):
            view = blp.alt_response(
                status,
                schema=ProblemSchema,
                content_type=PROBLEM_MIME,
                description="Problem, with code: " + ", ".join(f"`{c}`" for c in codes),
            )(view)
        return view

    return decorator


# Where the interactive docs' files are served from (OPENAPI_SWAGGER_UI_URL).
DOCS_ASSETS = "/api/v1/docs/assets/<path:filename>"


def serve_docs_asset(filename: str) -> Any:
    """One of Swagger UI's files, from the installed swagger-ui-bundle package."""
    from flask import send_from_directory
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def make_api(app: Any) -> LedgerApi:
    """The Api for ``app``: one per application, so tests can build many apps; and
    the docs' own files (``DOCS_ASSETS``)."""
    app.add_url_rule(DOCS_ASSETS, "docs_asset", serve_docs_asset)
    return LedgerApi(
        app,
        spec_kwargs={
            "info": {
                "description": "System of record for a pooled reconstruction fund: pledges, "
                "contributions, committee approvals, disbursements, restricted-party "
                "refusals and an audit trail that proves them. Authenticate with "
                "`Authorization: Bearer <token>`. Errors are application/problem+json "
                "(RFC 9457) with a stable `code`."
            },
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )


# ---------------------------------------------------------------- field types

# The largest id a BIGINT holds: a larger one can name nothing.
MAX_ID = 2**63 - 1


class Id(fields.Integer):
    """An id: a positive integer a BIGINT can hold. In a JSON body it must be an
    integer (``1.5`` is refused, not truncated); in a query string, digits."""

    def __init__(self, *, strict: bool = False, **kw: Any) -> None:
        super().__init__(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kw)


class FullMatch(validate.Regexp):
    """A pattern the whole value must match, written as the OpenAPI document states
    it to other languages' tools (ECMA-262, JSON Schema's dialect: ``^…$``, ASCII
    classes spelled out). Python's ``$`` would also match before a final newline;
    ``fullmatch`` does not, which is what ECMA-262's ``$`` means."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


# Text must have something besides spaces, and no control characters (NUL above all:
# PostgreSQL cannot store it) in names, reasons or references.
_PRINTABLE_TEXT = FullMatch(
    r"^(?=[\s\S]*\S)[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$",
    error="Must not be blank or contain control characters.",
)


class Currency(fields.String):
    def __init__(self, **kw: Any) -> None:
        super().__init__(
            validate=validate.Length(equal=3),
            metadata={"description": "ISO 4217 code", "example": "USD"},
            **kw,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        code: str = super()._deserialize(value, attr, data, **kw)
        if not is_currency(code):
            raise ma.ValidationError(f"'{code}' is not an ISO 4217 currency with a minor unit.")
        return code


class Amount(fields.String):
    """A decimal string; its decimals are checked against the currency by the schema."""

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("metadata", {"description": "Decimal string", "example": "1250000.00"})
        super().__init__(
            validate=FullMatch(
                r"^[0-9]{1,15}(\.[0-9]+)?$",
                error='Write a positive decimal string, e.g. "1250.00".',
            ),
            **kw,
        )


class RateField(fields.String):
    def __init__(self, **kw: Any) -> None:
        kw.setdefault(
            "metadata",
            {"description": "Units of the fund's base currency per unit of this currency"},
        )
        super().__init__(**kw)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kw)
        try:
            return parse_rate(text)
        except MoneyError as exc:
            raise ma.ValidationError(str(exc)) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kw: Any) -> str | None:
        return None if value is None else format(value, "f")


class Country(fields.String):
    def __init__(self, **kw: Any) -> None:
        super().__init__(metadata={"description": "ISO 3166-1 alpha-2", "example": "EG"}, **kw)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        code: str = super()._deserialize(value, attr, data, **kw)
        if len(code) != 2 or not code.isupper() or pycountry.countries.get(alpha_2=code) is None:
            raise ma.ValidationError(f"'{code}' is not an ISO 3166-1 alpha-2 country code.")
        return code


class ShowsWhatItSays(validate.Validator):
    """No character that prints nothing or reorders the text around it (bidi
    overrides, zero-width spaces, fillers: ``screening.text.hidden_characters``):
    a name, reason or reference must read as it displays, to the matcher and to
    whoever reads the books. The same rule as for batch rows."""

    def __call__(self, value: str) -> str:
        found = hidden_characters(value)
        if found:
            raise ma.ValidationError(describe_hidden(found))
        return value


_SHOWS_WHAT_IT_SAYS = ShowsWhatItSays()


def Text(max_length: int, *, required: bool = True, **kw: Any) -> fields.String:
    """A trimmed, non-blank string of bounded length that shows what it says."""
    return fields.String(
        required=required,
        validate=[
            validate.Length(min=1, max=max_length),
            _PRINTABLE_TEXT,
            _SHOWS_WHAT_IT_SAYS,
        ],
        **kw,
    )


def money_out(minor: int, currency: str) -> str:
    return str(Money(minor, currency))


def parse_money(data: dict[str, Any], amount_key: str = "amount") -> Money:
    """Read ``data[amount_key]`` in ``data['currency']``, naming the field on error."""
    try:
        money = Money.parse(data[amount_key], data["currency"])
    except MoneyError as exc:
        raise ValidationFailed(amount_key, str(exc)) from None
    return money


class MoneySchemaMixin:
    """Checks, at validation time, that an amount has no more decimals than its currency."""

    @ma.validates_schema
    def _check_amount_decimals(self, data: dict[str, Any], **kw: Any) -> None:
        amount, currency = data.get("amount"), data.get("currency")
        if amount is None or currency is None or not is_currency(currency):
            return
        try:
            money = Money.parse(amount, currency)
        except MoneyError as exc:
            raise ma.ValidationError(str(exc), field_name="amount") from None
        if money.minor <= 0:
            raise ma.ValidationError("Must be greater than zero.", field_name="amount")
        if money.minor >= 10 ** (15 + minor_units(currency)):
            raise ma.ValidationError("Too large.", field_name="amount")


# ---------------------------------------------------------------- pagination


class PageArgs(ma.Schema):
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=500),
        metadata={"description": "Items per page (at most 500)"},
    )
    cursor = fields.String(metadata={"description": "The next_cursor of the previous page"})


class AsOfArgs(ma.Schema):
    as_of = fields.Date(
        load_default=None,
        metadata={"description": "Count only what has a value date on or before this date"},
    )


_page_schemas: dict[str, type[ma.Schema]] = {}


def page_of(item: type[ma.Schema]) -> type[ma.Schema]:
    """A ``{items: [...], next_cursor}`` schema for ``item``, named after it."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    if name not in _page_schemas:
        _page_schemas[name] = type(
            name,
            (ma.Schema,),
            {
                "items": fields.List(fields.Nested(item)),
                "next_cursor": fields.String(
                    allow_none=True,
                    metadata={"description": "Pass as cursor for the next page; null at the end"},
                ),
            },
        )
    return _page_schemas[name]


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode() + b"==").decode()
        kind, _, value = text.partition(":")
        if kind != "id" or not value.isascii() or not value.isdigit():
            raise ValueError
        last_id = int(value)
        if last_id > MAX_ID:
            raise ValueError
        return last_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("cursor", "Not a cursor this API gave out.") from None


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def paginate(
    session: Session, stmt: sa.Select[Any], id_column: Any, args: dict[str, Any]
) -> dict[str, Any]:
    """One page of ``stmt`` in ascending id order, with a cursor for the next."""
    limit = args.get("limit") or 50
    if args.get("cursor"):
        stmt = stmt.where(id_column > _decode_cursor(args["cursor"]))
    rows = list(session.scalars(stmt.order_by(id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": rows,
        "next_cursor": _encode_cursor(rows[-1].id) if more and rows else None,
    }


def today() -> dt.date:
    return utcnow().date()


class MinorAmount(fields.String):
    """Dumps an integer of minor units as a decimal string in the object's currency."""

    def __init__(self, currency_attr: str = "currency", **kw: Any) -> None:
        self.currency_attr = currency_attr
        kw.setdefault("dump_only", True)
        kw.setdefault("metadata", {"description": "Decimal string", "example": "1250000.00"})
        super().__init__(**kw)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kw: Any) -> str | None:
        if value is None:
            return None
        currency = (
            obj.get(self.currency_attr)
            if isinstance(obj, dict)
            else getattr(obj, self.currency_attr)
        )
        return money_out(int(value), str(currency))


class BaseAmount(MinorAmount):
    """An amount in the fund's base currency (the object carries ``base_currency``)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(currency_attr="base_currency", **kw)
