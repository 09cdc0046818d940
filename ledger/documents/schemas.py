"""What the document routes take and answer."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields


class DocumentUploadSchema(ma.Schema):
    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "The file (multipart/form-data), with its name. Its type is read "
            "from its content and must be one of DOCUMENTS_TYPES (PDF, PNG, JPEG, plain "
            "text, CSV, XLSX, DOCX by default), agreeing with the declared type and the "
            "name's extension; at most DOCUMENTS_MAX_BYTES (20 MiB by default).",
        },
    )


class DocumentSchema(ma.Schema):
    id = fields.Integer()
    record_type = fields.String(
        metadata={"description": "spending_request, use_report, vote or review_case"}
    )
    record_id = fields.Integer()
    name = fields.String(metadata={"description": "The name it was uploaded with"})
    size = fields.Integer(metadata={"description": "Bytes"})
    content_type = fields.String(metadata={"description": "As read from the content"})
    sha256 = fields.String(metadata={"description": "Of the bytes: the key they are stored under"})
    uploaded_by = fields.Integer()
    uploaded_at = fields.DateTime()
    content_url = fields.Method(
        "_content_url",
        dump_only=True,
        metadata={"type": "string", "description": "Where its bytes are downloaded"},
    )

    def _content_url(self, document: Any) -> str:
        return f"/api/v1/documents/{document.id}/content"
