"""Batches: upload, approval through the committee, posting, progress."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, page_of, paginate, problems
from ledger.auth.access import current_user, requires
from ledger.batches import services
from ledger.batches.models import Batch, BatchRow
from ledger.batches.schemas import (
    BatchListArgs,
    BatchPostedSchema,
    BatchPostSchema,
    BatchRowArgs,
    BatchRowSchema,
    BatchSchema,
    BatchUploadFile,
    BatchUploadForm,
)
from ledger.db import db, get_or_404
from ledger.errors import (
    Conflict,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    NotApproved,
    NotFound,
    PayeeRestricted,
    RequestInProgress,
    SeparationOfDuties,
)
from ledger.funding.views import STAFF
from ledger.idempotency.services import HEADER_DOC, idempotent

blp = Blueprint("batches", __name__, description="Cash-assistance batches")

# 200,000 rows of CSV are about 20 MB: more than the API's general upload limit.
BATCH_UPLOAD_LIMIT = 64 * 1024 * 1024


@blp.before_request
def _allow_large_uploads() -> None:
    if request.method == "POST" and request.path.endswith("/batches"):
        request.max_content_length = current_app.config.get("BATCH_MAX_UPLOAD", BATCH_UPLOAD_LIMIT)


def _present(batch: Batch) -> dict[str, Any]:
    session = db.session
    out = {c.key: getattr(batch, c.key) for c in Batch.__table__.columns}
    out["progress"] = services.progress(session, batch)
    out["request_status"] = services.request_status(session, batch)
    return out


@blp.route("/batches")
class Batches(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(BatchListArgs, location="query")
    @blp.response(200, page_of(BatchSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List batches, by fund or status."""
        stmt = select(Batch)
        for key in ("fund_id", "status"):
            if key in args:
                stmt = stmt.where(getattr(Batch, key) == args[key])
        page = paginate(db.session, stmt, Batch.id, args)
        page["items"] = [_present(b) for b in page["items"]]
        return page

    @requires("clerk")
    @idempotent
    @blp.doc(parameters=[HEADER_DOC])
    @problems(
        blp,
        NotFound,
        PayeeRestricted,
        IdempotencyKeyMissing,
        IdempotencyKeyReused,
        RequestInProgress,
    )
    @blp.arguments(BatchUploadForm, location="form")
    @blp.arguments(BatchUploadFile, location="files")
    @blp.response(201, BatchSchema)
    def post(self, form: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        """Upload a batch (multipart: the form fields and one ``file``, CSV or JSON).
        Every row is validated (errors per row, with its line), matched to a
        registered individual by national ID or registered, and screened; the total
        of the payable rows goes to the committee as one spending request. Invalid,
        restricted and under-review rows are kept, listed, and never paid. Needs an
        Idempotency-Key."""
        stream = files["file"]
        try:
            data = stream.read()
        finally:
            stream.close()
        batch = services.submit_batch(
            db.session,
            current_user(),
            current_app.extensions["ledger.quorum_policy"],
            data=data,
            expiry_days=current_app.config["REQUEST_EXPIRY_DAYS"],
            **form,
        )
        return _present(batch)


@blp.route("/batches/<int:batch_id>")
class BatchById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, BatchSchema)
    def get(self, batch_id: int) -> dict[str, Any]:
        """A batch with its progress: rows per state (invalid, ready, held, paid),
        amount paid, percent posted. Readable from any process while it posts."""
        return _present(get_or_404(db.session, Batch, batch_id))


@blp.route("/batches/<int:batch_id>/rows")
class BatchRows(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(BatchRowArgs, location="query")
    @blp.response(200, page_of(BatchRowSchema))
    def get(self, args: dict[str, Any], batch_id: int) -> dict[str, Any]:
        """The batch's rows in file order, by state: ``invalid`` with their errors per
        field, ``held`` with what blocks them, ``paid``, ``ready``."""
        get_or_404(db.session, Batch, batch_id)
        return paginate(
            db.session, services.rows_query(batch_id, args.get("state")), BatchRow.id, args
        )


@blp.route("/batches/<int:batch_id>/post")
class PostBatch(MethodView):
    @requires("treasurer")
    @problems(blp, NotFound, NotApproved, SeparationOfDuties, Conflict)
    @blp.arguments(BatchPostSchema)
    @blp.response(202, BatchPostedSchema, headers={"Location": {"schema": {"type": "string"}}})
    def post(self, data: dict[str, Any], batch_id: int) -> Any:
        """Start paying an approved batch: a ``batch.post`` job pays it in chunks (one
        transaction each), on a worker. Follow it at ``Location`` (the job) or with
        ``GET /batches/{id}``. Calling it again while it posts resumes a run that
        stopped: no row is ever paid twice."""
        batch, job = services.post_in_background(
            db.session, current_user(), batch_id=batch_id, paid_on=data["paid_on"]
        )
        return (
            {**_present(batch), "job_id": job.id},
            202,
            {"Location": f"/api/v1/jobs/{job.id}"},
        )
