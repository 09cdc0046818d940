"""Documents: each test keeps its files in a directory of its own, and real files
of each kind to attach."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from tests.factories import API


@pytest.fixture
def documents_dir(app: Flask, tmp_path: Path) -> Iterator[Path]:
    """This test's ``DOCUMENTS_DIR``, empty at the start."""
    kept = app.config["DOCUMENTS_DIR"]
    app.config["DOCUMENTS_DIR"] = str(tmp_path / "documents")
    yield tmp_path / "documents"
    app.config["DOCUMENTS_DIR"] = kept


def stored_files(root: Path) -> list[Path]:
    """Every file the directory store holds (none of its temporary files)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def pdf(text: str = "Contract for the repair of 120 housing units.") -> bytes:
    """A real PDF, made by reportlab."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def upload(
    ledger: Any,
    path: str,
    as_: str,
    content: bytes,
    name: str = "contract.pdf",
    content_type: str = "application/pdf",
) -> TestResponse:
    """POST the file as multipart/form-data to ``/api/v1{path}``."""
    # Encoded here, in memory: the test client would spool a large body to a
    # temporary file that it never closes.
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(content), filename=name, content_type=content_type)}
    )
    return ledger.client.post(
        API + path,
        data=body,
        headers={"Authorization": f"Bearer {ledger.tokens.get(as_, as_)}"},
        content_type=f"multipart/form-data; boundary={boundary}",
    )
