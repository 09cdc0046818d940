import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import Country, Id, PageArgs, Text
from ledger.screening.models import CASE_STATES, SOURCES


class WatchlistVersionSchema(ma.Schema):
    id = fields.Integer()
    source = fields.String()
    number = fields.Integer()
    file_sha256 = fields.String()
    published_at = fields.String(allow_none=True)
    entries = fields.Integer()
    added = fields.Integer()
    changed = fields.Integer()
    removed = fields.Integer()
    details = fields.Dict()
    imported_by = fields.Integer(allow_none=True)
    imported_at = fields.DateTime()
    created_at = fields.DateTime()


class ImportResultSchema(ma.Schema):
    version = fields.Nested(WatchlistVersionSchema)
    delisting_cases = fields.Integer(
        metadata={"description": "Cases opened for restrictions whose entry was removed"}
    )
    job_id = fields.Integer(
        metadata={"description": "The watchlist.rescreen job that screens every payee again"}
    )


class UploadSchema(ma.Schema):
    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "UN: the consolidated list XML. OFAC: a zip of the legacy CSV set "
            "(sdn.csv, alt.csv, add.csv, sdn_comments.csv, or the cons_* files). "
            "Fund: the fund's own CSV (docs/screening.md).",
        },
    )


class EntrySchema(ma.Schema):
    id = fields.Integer()
    source = fields.String()
    source_key = fields.String()
    kind = fields.String()
    name = fields.String()
    fingerprint = fields.String()
    data = fields.Dict()
    version_id = fields.Integer()
    retired_in_id = fields.Integer(allow_none=True)
    retired_as = fields.String(allow_none=True)
    active = fields.Boolean()


class EntryListArgs(PageArgs):
    source = fields.String(validate=validate.OneOf(SOURCES))
    active = fields.Boolean()
    name = fields.String(metadata={"description": "Part of the primary name"})


class CheckSchema(ma.Schema):
    name = Text(300)
    aliases = fields.List(Text(300), load_default=list, validate=validate.Length(max=20))
    birth_date = fields.Date(load_default=None)
    country = Country(load_default=None)
    identifiers = fields.List(Text(100), load_default=list, validate=validate.Length(max=20))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class CandidateSchema(ma.Schema):
    entry_id = fields.Integer()
    list = fields.String()
    source_key = fields.String()
    name = fields.String()
    kind = fields.String()
    programmes = fields.List(fields.String())
    score = fields.String()
    query_name = fields.String()
    entry_name = fields.String()
    entry_name_kind = fields.String()
    adjustments = fields.List(fields.String())
    would_open_case = fields.Boolean()


class CheckResultSchema(ma.Schema):
    matcher_version = fields.String()
    review_threshold = fields.String()
    candidates = fields.List(fields.Nested(CandidateSchema))


class ReviewCaseSchema(ma.Schema):
    id = fields.Integer()
    payee_id = fields.Integer()
    related_party_id = fields.Integer(allow_none=True)
    entry_id = fields.Integer()
    kind = fields.String(metadata={"description": "match, or delisting"})
    status = fields.String()
    score = fields.String()
    matcher_version = fields.String()
    evidence = fields.Dict()
    trigger = fields.String()
    restriction_id = fields.Integer(allow_none=True)
    opened_by = fields.Integer(allow_none=True)
    opened_at = fields.DateTime()
    resolved_by = fields.Integer(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolution_reason = fields.String(allow_none=True)
    name_key = fields.String(
        allow_none=True, metadata={"description": "The payee's name as the matcher reads it"}
    )
    listed_key = fields.String(
        allow_none=True,
        metadata={"description": "The listed name it matched: its group (review-case-groups)"},
    )
    created_at = fields.DateTime()


class ReviewCaseListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(CASE_STATES))
    kind = fields.String(validate=validate.OneOf(["match", "delisting"]))
    payee_id = Id()


class ResolveSchema(ma.Schema):
    reason = Text(2000)


class CaseGroupArgs(ma.Schema):
    batch_id = Id(metadata={"description": "Only the cases on this batch's held rows"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ListedSummarySchema(ma.Schema):
    name = fields.String()
    kind = fields.String()
    list = fields.String()
    source_key = fields.String()
    programmes = fields.List(fields.String())
    birth_dates = fields.List(fields.String())
    nationalities = fields.List(fields.String())


class CaseGroupSchema(ma.Schema):
    entry_id = fields.Integer()
    listed_key = fields.String(
        metadata={"description": "The entry's name that matched, as the matcher reads it"}
    )
    listed_names = fields.List(fields.String(), metadata={"description": "As the list writes it"})
    cases = fields.Integer()
    payees = fields.Integer()
    oldest_opened_at = fields.DateTime()
    listed = fields.Nested(ListedSummarySchema)
    names_written = fields.List(fields.String())
    case_ids = fields.List(fields.Integer(), metadata={"description": "The first 50"})
    payee_ids = fields.List(fields.Integer(), metadata={"description": "Those of the first 50"})
    needs_second_officer = fields.Boolean()


class CaseGroupListSchema(ma.Schema):
    items = fields.List(fields.Nested(CaseGroupSchema))


class GroupDecisionSchema(ma.Schema):
    entry_id = Id(required=True, strict=True)
    listed_key = Text(300)
    reason = Text(2000)


class GroupClearanceSchema(ma.Schema):
    id = fields.Integer()
    entry_id = fields.Integer()
    listed_key = fields.String()
    name_keys = fields.List(
        fields.String(), metadata={"description": "The payee names it holds for"}
    )
    reason = fields.String()
    status = fields.String(metadata={"description": "proposed, or approved"})
    cases_proposed = fields.Integer()
    cases_cleared = fields.Integer()
    proposed_by = fields.Integer()
    proposed_at = fields.DateTime()
    approved_by = fields.Integer(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class GroupConfirmedSchema(ma.Schema):
    confirmed = fields.List(fields.Nested(ReviewCaseSchema))
