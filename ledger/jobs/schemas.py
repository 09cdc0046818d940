import marshmallow as ma
from marshmallow import fields, validate

from ledger.api import PageArgs
from ledger.jobs.models import JOB_STATES


class JobSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"example": "batch.post"})
    arguments = fields.Dict(metadata={"description": "What the job works on"})
    state = fields.String(metadata={"description": "queued, running, done or failed"})
    progress = fields.Dict(metadata={"description": "As the job last reported it"})
    error = fields.String(
        allow_none=True,
        metadata={"description": "The last failure: final when failed, else retried"},
    )
    attempts = fields.Integer(metadata={"description": "Runs begun so far"})
    dedupe_key = fields.String(allow_none=True)
    created_by = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class JobListArgs(PageArgs):
    kind = fields.String(validate=validate.Length(max=60))
    state = fields.String(validate=validate.OneOf(JOB_STATES))
