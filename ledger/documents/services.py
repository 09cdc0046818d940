"""Attaching documents to records, reading them back, and verifying the store.

Who may attach to a record, and who may read what is attached, is said once here
(``KINDS``): the roles of the API's own write and read routes for that record.
The API's document routes, the console's and the CLI call these functions.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ledger.audit.models import AuditEvent
from ledger.audit.services import record
from ledger.auth.models import Actor
from ledger.committee.models import SpendingRequest, TrancheUseReport, Vote
from ledger.db import Base, get_or_404
from ledger.documents.models import RECORD_TYPES, Document
from ledger.documents.store import MissingContent, Store
from ledger.errors import (
    DocumentNameRefused,
    DocumentTooLarge,
    DocumentTypeRefused,
    DocumentUnavailable,
    Forbidden,
)
from ledger.screening.models import ReviewCase
from ledger.screening.text import describe_hidden, hidden_characters

# ---------------------------------------------------------------- who may do what

# Every role reads requests, use reports and votes (GET /spending-requests/{id},
# …/use-reports, …/votes); the oversight roles read review cases (GET
# /review-cases/{id}).
EVERY_ROLE = frozenset({"admin", "clerk", "treasurer", "compliance", "committee_member", "auditor"})
OVERSIGHT = frozenset({"compliance", "treasurer", "auditor", "admin"})


@dataclass(frozen=True)
class Kind:
    """A kind of record documents attach to: its model, and who may attach and
    read, as the API's routes on that record allow."""

    model: type[Base]
    label: str
    attach: frozenset[str]
    read: frozenset[str]
    # Whose own record it is, when only its owner may attach (a member's vote).
    owner: Callable[[Any], int] | None = field(default=None)


KINDS: Mapping[str, Kind] = {
    # POST …/withdraw (clerk), …/decrease and …/cancel (clerk, treasurer).
    "spending_request": Kind(
        SpendingRequest, "spending request", frozenset({"clerk", "treasurer"}), EVERY_ROLE
    ),
    # POST …/tranches/{seq}/use-reports (clerk, treasurer).
    "use_report": Kind(
        TrancheUseReport, "use report", frozenset({"clerk", "treasurer"}), EVERY_ROLE
    ),
    # POST …/votes (committee_member): the member who cast it, on their own vote.
    "vote": Kind(
        Vote,
        "vote",
        frozenset({"committee_member"}),
        EVERY_ROLE,
        owner=lambda vote: int(vote.member_id),
    ),
    # POST /review-cases/{id}/confirm and …/clear (compliance).
    "review_case": Kind(ReviewCase, "review case", frozenset({"compliance"}), OVERSIGHT),
}
assert set(KINDS) == set(RECORD_TYPES)

# Whoever may read documents of some kind: the door of GET /documents/{id}; the
# document's own record then decides (``readable_document``).
ANY_READER = frozenset().union(*(k.read for k in KINDS.values()))


def may_attach(actor: Actor, record_type: str) -> bool:
    return actor.has_role(*KINDS[record_type].attach)


def may_read(actor: Actor, record_type: str) -> bool:
    return actor.has_role(*KINDS[record_type].read)


def _record(session: Session, record_type: str, record_id: int) -> Any:
    return get_or_404(session, KINDS[record_type].model, record_id)


def _check_attach(session: Session, actor: Actor, record_type: str, record_id: int) -> None:
    kind = KINDS[record_type]
    if not may_attach(actor, record_type):
        raise Forbidden(
            f"Documents are attached to a {kind.label} by the roles: "
            f"{', '.join(sorted(kind.attach))}."
        )
    row = _record(session, record_type, record_id)
    if kind.owner is not None and kind.owner(row) != actor.id:
        raise Forbidden(f"Only the member who cast {kind.label} {record_id} attaches to it.")


def _check_read(actor: Actor, record_type: str) -> None:
    kind = KINDS[record_type]
    if not may_read(actor, record_type):
        raise Forbidden(
            f"Documents of a {kind.label} are read by the roles: {', '.join(sorted(kind.read))}."
        )


# ---------------------------------------------------------------- limits and types

# The types of text libmagic tells apart from plain text by their content; a
# plain-text file declared or named as CSV is kept as CSV, and the other way round.
TEXT_TYPES = frozenset({"text/plain", "text/csv"})

# The names the default types go by (``mimetypes`` depends on the machine's
# /etc/mime.types; these do not). A type added by configuration uses mimetypes'.
EXTENSIONS = {
    "application/pdf": {".pdf"},
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "text/plain": {".txt", ".text", ".log", ".md"},
    "text/csv": {".csv"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {".xlsx"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {".docx"},
}
# Declarations that say nothing about the type: a client that did not know.
UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
# libmagic reads the start of a file (OOXML: the first entries of the zip).
SNIFF_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """``DOCUMENTS_MAX_BYTES`` and ``DOCUMENTS_TYPES``, as configured."""

    max_bytes: int
    types: frozenset[str]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(int(config["DOCUMENTS_MAX_BYTES"]), frozenset(config["DOCUMENTS_TYPES"]))


def sniffed_type(content: bytes) -> str:
    """The MIME type libmagic reads from the content itself (python-magic)."""
    try:
        import magic
    except ImportError as exc:  # libmagic itself is missing: say what to install
        raise RuntimeError(
            "python-magic needs libmagic: apt-get install libmagic1 (or file)"
        ) from exc
    found: str = magic.from_buffer(content[:SNIFF_BYTES], mime=True)
    return found


def _extensions(content_type: str) -> set[str]:
    return EXTENSIONS.get(content_type) or set(mimetypes.guess_all_extensions(content_type))


def _known_extension(extension: str) -> bool:
    """An extension that names a type (``.exe``, ``.html``, ``.pdf``); an unknown one
    (``.v2``, ``. 12``) says nothing and is not held against the content."""
    if not extension:
        return False
    known = any(extension in names for names in EXTENSIONS.values())
    return known or mimetypes.guess_type("x" + extension, strict=False)[0] is not None


def _text_extensions() -> set[str]:
    return set().union(*(_extensions(t) for t in TEXT_TYPES))


def _same(a: str, b: str) -> bool:
    return a == b or {a, b} <= TEXT_TYPES


def content_type(name: str, declared: str | None, content: bytes, limits: Limits) -> str:
    """The type a document is recorded (and served) as: read from its content, and
    one of the allowed types; the type it was declared as, and its name's
    extension, must agree with it (HTML or a program renamed ``.pdf`` is refused)."""
    sniffed = sniffed_type(content)
    declared = (declared or "").split(";")[0].strip().lower()
    extension = name[name.rfind(".") :].lower() if "." in name else ""
    kept = sniffed
    if sniffed in TEXT_TYPES:
        # What libmagic cannot tell: a one-column CSV reads as plain text.
        claims = [declared, *sorted(t for t in TEXT_TYPES if extension in _extensions(t))]
        kept = next((c for c in claims if c in TEXT_TYPES), sniffed)
    if kept not in limits.types:
        raise DocumentTypeRefused(
            f"The content is {sniffed}, which is not an allowed type "
            f"(DOCUMENTS_TYPES: {', '.join(sorted(limits.types))})."
        )
    if declared not in UNDECLARED and not _same(declared, kept):
        raise DocumentTypeRefused(
            f"The file is declared as {declared}, but its content is {sniffed}: "
            "the declared type must match the content."
        )
    names = _extensions(kept) | (_text_extensions() if kept in TEXT_TYPES else set())
    if _known_extension(extension) and extension not in names:
        raise DocumentTypeRefused(
            f"The name ends in {extension}, but the content is {kept}: "
            f"name it {' or '.join(sorted(_extensions(kept))) or 'without that extension'}."
        )
    return kept


_PATH_SEPARATORS = re.compile(r"[\\/]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def document_name(uploaded: str | None) -> str:
    """The name a document is kept under: the last path component of the name it
    was uploaded with (a browser may send ``C:\\fakepath\\x.pdf``), shown as it
    reads: no control character, nothing that prints nothing or reorders text."""
    name = _PATH_SEPARATORS.split(uploaded or "")[-1].strip()
    if not name or name in {".", ".."}:
        raise DocumentNameRefused("The file has no name: send it with a file name.")
    if len(name) > 255:
        raise DocumentNameRefused("The file's name is longer than 255 characters.")
    if _CONTROL.search(name):
        raise DocumentNameRefused("The file's name contains control characters.")
    hidden = hidden_characters(name)
    if hidden:
        raise DocumentNameRefused(f"The file's name: {describe_hidden(hidden)}")
    return name


# ---------------------------------------------------------------- attach and read


def attach(
    session: Session,
    actor: Actor,
    store: Store,
    limits: Limits,
    *,
    record_type: str,
    record_id: int,
    name: str | None,
    declared_type: str | None,
    content: bytes,
) -> Document:
    """Attach ``content`` to the record, as ``actor``, who must be allowed to.

    Checked before anything is stored: the record, the actor's right, the name,
    the size (``limits.max_bytes``) and the type read from the content. Then the
    bytes are stored under their sha256 (once: the same content attached again is
    not written again), the row added and the attachment recorded in the audit
    chain (``document.attached``: record, sha256, name, size, type, uploader).

    The bytes are stored before the transaction commits, so that no committed row
    names a file that is not there; a transaction that then rolls back leaves a
    file that no row names, harmless and reused if the same bytes come again."""
    _check_attach(session, actor, record_type, record_id)
    kept_name = document_name(name)
    if not content:
        raise DocumentTypeRefused("The file is empty.")
    if len(content) > limits.max_bytes:
        raise DocumentTooLarge(
            f"The file is larger than the limit of {limits.max_bytes} bytes (DOCUMENTS_MAX_BYTES)."
        )
    kept_type = content_type(kept_name, declared_type, content, limits)
    sha256 = hashlib.sha256(content).hexdigest()
    store.put(sha256, content)
    document = Document(
        record_type=record_type,
        record_id=record_id,
        sha256=sha256,
        name=kept_name,
        size=len(content),
        content_type=kept_type,
        uploaded_by=actor.id,
    )
    session.add(document)
    session.flush()
    record(session, actor, "document.attached", document)
    return document


def documents_query(record_type: str, record_ids: Iterable[int]) -> Any:
    """The documents of these records, as a select (for ``paginate``)."""
    return select(Document).where(
        Document.record_type == record_type, Document.record_id.in_(list(record_ids))
    )


def readable_record(session: Session, actor: Actor, record_type: str, record_id: int) -> Any:
    """The record, if ``actor`` may read its documents (else 403; no record: 404)."""
    _check_read(actor, record_type)
    return _record(session, record_type, record_id)


def readable_document(session: Session, actor: Actor, document_id: int) -> Document:
    """The document, if ``actor`` may read the record it belongs to."""
    document = get_or_404(session, Document, document_id)
    _check_read(actor, document.record_type)
    return document


def content_of(store: Store, document: Document) -> bytes:
    """The document's bytes, checked against its sha256: bytes that are missing or
    altered are never served as the document."""
    try:
        content = store.get(document.sha256)
    except MissingContent:
        raise DocumentUnavailable(
            f"Document {document.id}'s file is missing from the store."
        ) from None
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise DocumentUnavailable(
            f"Document {document.id}'s stored file no longer matches its sha256."
        )
    return content


def request_documents(session: Session, request: SpendingRequest) -> list[Document]:
    """A spending request's documents, with those of its use reports and votes,
    in the order they were attached."""
    report_ids = select(TrancheUseReport.id).where(
        TrancheUseReport.spending_request_id == request.id
    )
    vote_ids = select(Vote.id).where(Vote.spending_request_id == request.id)
    return list(
        session.scalars(
            select(Document)
            .where(
                or_(
                    and_(
                        Document.record_type == "spending_request",
                        Document.record_id == request.id,
                    ),
                    and_(Document.record_type == "use_report", Document.record_id.in_(report_ids)),
                    and_(Document.record_type == "vote", Document.record_id.in_(vote_ids)),
                )
            )
            .order_by(Document.id)
        )
    )


# ---------------------------------------------------------------- verify

# The fields of a ``documents`` row that its ``document.attached`` event records.
RECORDED = ("record_type", "record_id", "sha256", "name", "size", "content_type", "uploaded_by")


@dataclass
class Verification:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, store: Store) -> Verification:
    """Check every document against the store and the audit chain: its file is
    there, its bytes hash to the recorded sha256, its row agrees with its
    ``document.attached`` event; and every such event has its row. Each problem
    names the document. (The chain itself: ``flask --app wsgi audit verify``.)"""
    result = Verification()
    events = {
        event.entity_id: event
        for event in session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "document.attached", AuditEvent.entity_type == "documents"
            )
        )
    }
    seen: set[str] = set()
    for document in session.scalars(select(Document).order_by(Document.id)):
        result.checked += 1
        label = f"document {document.id} ({document.name!r}, sha256 {document.sha256})"
        seen.add(str(document.id))
        event = events.get(str(document.id))
        if event is None:
            result.problems.append(f"{label}: no document.attached event in the audit chain")
        else:
            after = event.after or {}
            differ = [f for f in RECORDED if after.get(f) != getattr(document, f)]
            if differ:
                result.problems.append(
                    f"{label}: the row differs from its audit event {event.seq} in "
                    + ", ".join(differ)
                )
        try:
            content = store.get(document.sha256)
        except MissingContent:
            result.problems.append(f"{label}: the file is missing from {store.describe()}")
            continue
        if hashlib.sha256(content).hexdigest() != document.sha256:
            result.problems.append(f"{label}: the stored bytes do not hash to its sha256")
        elif len(content) != document.size:
            result.problems.append(f"{label}: the stored file is not {document.size} bytes")
    for entity_id in sorted(set(events) - seen, key=lambda i: int(i or 0)):
        result.problems.append(
            f"document {entity_id}: recorded by audit event {events[entity_id].seq}, "
            "but no documents row"
        )
    return result
