"""Documents attached to requests, use reports, votes and review cases: upload
(multipart), list, metadata and download. Who may do each is the record's rule
(``services.KINDS``); these views parse, call one service and answer."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, send_file
from flask.views import MethodView

from ledger.api import Blueprint, PageArgs, page_of, paginate, problems
from ledger.auth.access import current_user, requires
from ledger.db import db
from ledger.documents import services
from ledger.documents.models import Document
from ledger.documents.schemas import DocumentSchema, DocumentUploadSchema
from ledger.documents.store import store_for
from ledger.errors import (
    DocumentNameRefused,
    DocumentTooLarge,
    DocumentTypeRefused,
    DocumentUnavailable,
    NotFound,
)

blp = Blueprint(
    "documents",
    __name__,
    description="Documents attached to requests, use reports, votes and review cases",
)

KINDS = services.KINDS
# A multipart body carries the file and a few hundred bytes of headers around it.
MULTIPART_OVERHEAD = 64 * 1024


@blp.before_request
def _allow_document_uploads() -> None:
    """An upload may be larger than the API's general limit (MAX_CONTENT_LENGTH):
    up to DOCUMENTS_MAX_BYTES, which the service then checks of the file itself."""
    if request.method == "POST" and request.path.endswith("/documents"):
        limit = int(current_app.config["DOCUMENTS_MAX_BYTES"]) + MULTIPART_OVERHEAD
        request.max_content_length = limit


def _list(record_type: str, record_id: int, args: dict[str, Any]) -> dict[str, Any]:
    services.readable_record(db.session, current_user(), record_type, record_id)
    stmt = services.documents_query(record_type, [record_id])
    return paginate(db.session, stmt, Document.id, args)


def _attach(record_type: str, record_id: int, files: dict[str, Any]) -> Document:
    limits = services.Limits.from_config(current_app.config)
    stream = files["file"]
    try:
        # One byte past the limit is enough to know the file is too large.
        content = stream.read(limits.max_bytes + 1)
    finally:
        stream.close()
    return services.attach(
        db.session,
        current_user(),
        store_for(current_app),
        limits,
        record_type=record_type,
        record_id=record_id,
        name=stream.filename,
        declared_type=stream.mimetype,
        content=content,
    )


def as_download(document: Document, content: bytes) -> Response:
    """The bytes as an attachment: the recorded type (never sniffed again by the
    browser: ``X-Content-Type-Options: nosniff``), the original name encoded for
    any header (werkzeug: an ASCII ``filename`` and RFC 5987 ``filename*``)."""
    import io

    response = send_file(
        io.BytesIO(content),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.name,
        etag=document.sha256,
        conditional=False,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # A browser told to open it in place anyway runs no script of it.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


ATTACH_PROBLEMS = (NotFound, DocumentTooLarge, DocumentTypeRefused, DocumentNameRefused)


@blp.route("/spending-requests/<int:request_id>/documents")
class RequestDocuments(MethodView):
    @requires(*KINDS["spending_request"].read)
    @problems(blp, NotFound)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(DocumentSchema))
    def get(self, args: dict[str, Any], request_id: int) -> dict[str, Any]:
        """The documents attached to a request (not its use reports' or votes'),
        in the order they were attached."""
        return _list("spending_request", request_id, args)

    @requires(*KINDS["spending_request"].attach)
    @problems(blp, *ATTACH_PROBLEMS)
    @blp.arguments(DocumentUploadSchema, location="files")
    @blp.response(201, DocumentSchema)
    def post(self, files: dict[str, Any], request_id: int) -> Document:
        """Attach a file (a contract, an invoice, a bank confirmation) to a request.
        Its sha256, name, size, type and uploader go into the audit chain."""
        return _attach("spending_request", request_id, files)


@blp.route("/use-reports/<int:report_id>/documents")
class UseReportDocuments(MethodView):
    @requires(*KINDS["use_report"].read)
    @problems(blp, NotFound)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(DocumentSchema))
    def get(self, args: dict[str, Any], report_id: int) -> dict[str, Any]:
        """The documents attached to a tranche use report."""
        return _list("use_report", report_id, args)

    @requires(*KINDS["use_report"].attach)
    @problems(blp, *ATTACH_PROBLEMS)
    @blp.arguments(DocumentUploadSchema, location="files")
    @blp.response(201, DocumentSchema)
    def post(self, files: dict[str, Any], report_id: int) -> Document:
        """Attach a file to a use report: the payee's narrative report, invoices."""
        return _attach("use_report", report_id, files)


@blp.route("/votes/<int:vote_id>/documents")
class VoteDocuments(MethodView):
    @requires(*KINDS["vote"].read)
    @problems(blp, NotFound)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(DocumentSchema))
    def get(self, args: dict[str, Any], vote_id: int) -> dict[str, Any]:
        """The documents attached to a vote (its id: GET /spending-requests/{id}/votes)."""
        return _list("vote", vote_id, args)

    @requires(*KINDS["vote"].attach)
    @problems(blp, *ATTACH_PROBLEMS)
    @blp.arguments(DocumentUploadSchema, location="files")
    @blp.response(201, DocumentSchema)
    def post(self, files: dict[str, Any], vote_id: int) -> Document:
        """Attach a file to your own vote: what you based it on."""
        return _attach("vote", vote_id, files)


@blp.route("/review-cases/<int:case_id>/documents")
class ReviewCaseDocuments(MethodView):
    @requires(*KINDS["review_case"].read)
    @problems(blp, NotFound)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(DocumentSchema))
    def get(self, args: dict[str, Any], case_id: int) -> dict[str, Any]:
        """The documents attached to a review case."""
        return _list("review_case", case_id, args)

    @requires(*KINDS["review_case"].attach)
    @problems(blp, *ATTACH_PROBLEMS)
    @blp.arguments(DocumentUploadSchema, location="files")
    @blp.response(201, DocumentSchema)
    def post(self, files: dict[str, Any], case_id: int) -> Document:
        """Attach evidence to a review case: an identity document, a registry extract."""
        return _attach("review_case", case_id, files)


@blp.route("/documents/<int:document_id>")
class DocumentById(MethodView):
    @requires(*services.ANY_READER)
    @problems(blp, NotFound)
    @blp.response(200, DocumentSchema)
    def get(self, document_id: int) -> Document:
        """A document's metadata, for whoever may read the record it belongs to."""
        return services.readable_document(db.session, current_user(), document_id)


def _download_doc() -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "responses": {
            "200": {
                "description": "The file, as an attachment, with the type it was recorded as",
                "content": {t: binary for t in sorted(services.EXTENSIONS)},
            }
        }
    }


@blp.route("/documents/<int:document_id>/content")
class DocumentContent(MethodView):
    @requires(*services.ANY_READER)
    @problems(blp, NotFound, DocumentUnavailable)
    @blp.doc(**_download_doc())
    def get(self, document_id: int) -> Response:
        """Download a document, for whoever may read the record it belongs to. Bytes
        that no longer hash to its sha256 are not served (document_unavailable)."""
        document = services.readable_document(db.session, current_user(), document_id)
        return as_download(document, services.content_of(store_for(current_app), document))
