"""A document's type is read from its content (libmagic), not taken from what the
upload says; what the upload says must agree with it. No database: the rule alone."""

from __future__ import annotations

import io
import zipfile

import pytest

from ledger.config import Defaults
from ledger.documents.services import Limits, content_type
from ledger.errors import DocumentTypeRefused

LIMITS = Limits(Defaults.DOCUMENTS_MAX_BYTES, frozenset(Defaults.DOCUMENTS_TYPES))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["tranche", "used"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def docx() -> bytes:
    """The smallest Word document: its content types, its relationships, its body."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Override PartName="/word/document.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"'
            "/></Types>",
        )
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><document/>')
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "name", "declared", "kept"),
    [
        (xlsx(), "use.xlsx", XLSX, XLSX),
        (xlsx(), "use.xlsx", "application/octet-stream", XLSX),
        (docx(), "narrative.docx", DOCX, DOCX),
        (b"amount\n100\n250\n", "amounts.csv", "text/csv", "text/csv"),  # one column
        (b"a,b\n1,2\n3,4\n", "table.txt", "text/plain", "text/plain"),
        (b"Narrative report, phase 1.\n", "report", "", "text/plain"),
        ("تقرير الاستخدام\n".encode(), "تقرير.txt", "text/plain", "text/plain"),
        (
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
            "p.jpg",
            "image/jpeg",
            "image/jpeg",
        ),
    ],
)
def test_the_type_kept_is_read_from_the_content(content, name, declared, kept):
    assert content_type(name, declared, content, LIMITS) == kept


def test_a_type_outside_the_configured_ones_is_refused():
    only_pdf = Limits(1000, frozenset({"application/pdf"}))
    with pytest.raises(DocumentTypeRefused, match=r"text/plain, which is not an allowed type"):
        content_type("note.txt", "text/plain", b"hello\n", only_pdf)


def test_a_spreadsheet_named_as_a_document_is_refused():
    with pytest.raises(DocumentTypeRefused, match=r"The name ends in \.docx"):
        content_type("narrative.docx", "", xlsx(), LIMITS)
