"""Batch upload, progress and rows, as the API reads and writes them."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import Country, Currency, Id, MinorAmount, PageArgs, Text


class BatchUploadFile(ma.Schema):
    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "CSV with a header line (name, national_id, original_script_name, "
            "birth_date, account, amount, currency, reference; original_script_name and "
            "birth_date, YYYY-MM-DD or YYYY, may be left out), or JSON: a list of such "
            'objects or {"rows": [...]}. At most 200,000 rows.',
        },
    )


class BatchUploadForm(ma.Schema):
    fund_id = Id(required=True)
    project_id = Id(required=True)
    payee_id = Id(
        required=True,
        metadata={"description": "The registered payee that stands for the programme"},
    )
    name = Text(200)
    purpose = Text(2000)
    currency = Currency(required=True)
    # Of newly registered payees.
    country = Country(load_default="PS")


class BatchPostSchema(ma.Schema):
    paid_on = fields.Date(load_default=None, metadata={"description": "Value date; today"})


class ProgressSchema(ma.Schema):
    rows = fields.Dict(keys=fields.String(), values=fields.Integer())
    paid_amount = fields.String()
    percent = fields.Float()
    chunks_posted = fields.Integer()


class BatchSchema(ma.Schema):
    id = fields.Integer()
    fund_id = fields.Integer()
    project_id = fields.Integer()
    payee_id = fields.Integer()
    spending_request_id = fields.Integer()
    name = fields.String()
    currency = fields.String()
    total = MinorAmount(attribute="total_minor")
    status = fields.String()
    request_status = fields.String()
    source_sha256 = fields.String()
    paid_on = fields.Date(allow_none=True)
    submitted_by = fields.Integer()
    posted_by = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    posting_started_at = fields.DateTime(allow_none=True)
    last_chunk_at = fields.DateTime(allow_none=True)
    posted_at = fields.DateTime(allow_none=True)
    progress = fields.Nested(ProgressSchema)


class BatchPostedSchema(BatchSchema):
    job_id = fields.Integer(metadata={"description": "The batch.post job: GET /jobs/{id}"})


class BatchRowSchema(ma.Schema):
    id = fields.Integer()
    line = fields.Integer()
    state = fields.String()
    name = fields.String(allow_none=True)
    national_id = fields.String(allow_none=True)
    birth_date = fields.String(allow_none=True)
    original_script_name = fields.String(allow_none=True)
    account = fields.String(allow_none=True)
    amount = fields.Method("_amount")
    currency = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    payee_id = fields.Integer(allow_none=True)
    problems = fields.Dict(allow_none=True)

    def _amount(self, row: object) -> str | None:
        from ledger.api import money_out

        minor, currency = getattr(row, "amount_minor", None), getattr(row, "currency", None)
        return None if minor is None or currency is None else money_out(minor, currency)


class BatchListArgs(PageArgs):
    fund_id = Id()
    status = fields.String(validate=validate.OneOf(("submitted", "posting", "posted")))


class BatchRowArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(("invalid", "ready", "held", "paid")))
