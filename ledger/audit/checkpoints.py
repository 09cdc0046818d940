"""Signed checkpoints of the audit chain (SPEC §2, "Checkpoint").

The chain head (sequence, hash) and the time are signed with an Ed25519 key that
lives outside the database (``AUDIT_SIGNING_KEY_FILE``, or the PEM text in
``AUDIT_SIGNING_KEY``), on demand (``flask --app wsgi audit checkpoint``, which a
scheduler runs every few minutes) and at every period close. Auditors fetch them
(``GET /api/v1/audit-events/checkpoints``) and keep copies elsewhere;
``verify_against`` then tells whether the chain still agrees with every copy: an
event edited with every later hash recomputed, or a truncated tail, no longer does,
even though the chain checks out on its own. What each party can and cannot hide:
docs/security.md.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.audit.models import GENESIS_HASH, AuditChainHead, AuditCheckpoint, AuditEvent
from ledger.audit.services import record, verify_chain
from ledger.auth.models import Actor
from ledger.db import canonical_json, utcnow
from ledger.errors import Conflict
from ledger.notifications.services import EventSubject, notify, users_with_roles


class NoSigningKey(Conflict):
    code = "no_signing_key"
    title = "No audit signing key is configured"


def message(seq: int, chain_hash: str, signed_at: str) -> bytes:
    """The bytes a checkpoint's signature covers: canonical JSON of what it says."""
    return canonical_json({"hash": chain_hash, "seq": seq, "signed_at": signed_at}).encode()


def signing_key() -> Ed25519PrivateKey:
    """The configured key: the PEM text in ``AUDIT_SIGNING_KEY`` (an environment
    variable, ``LEDGER_AUDIT_SIGNING_KEY``), or the file ``AUDIT_SIGNING_KEY_FILE``."""
    pem = current_app.config.get("AUDIT_SIGNING_KEY")
    if not pem:
        path = current_app.config.get("AUDIT_SIGNING_KEY_FILE")
        if not path or not Path(path).is_file():
            raise NoSigningKey(
                "No audit signing key: set AUDIT_SIGNING_KEY_FILE to a key made by "
                "`flask --app wsgi audit keygen`, or AUDIT_SIGNING_KEY to its PEM text."
            )
        pem = Path(path).read_text()
    key = serialization.load_pem_private_key(str(pem).encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise NoSigningKey("The audit signing key is not an Ed25519 key.")
    return key


def has_signing_key() -> bool:
    """Whether a signing key is configured (``signing_key`` would find one)."""
    try:
        signing_key()
    except NoSigningKey:
        return False
    return True


def make_key_file(path: Path) -> bool:
    """Write a new Ed25519 key to ``path`` (readable by its owner only), unless one
    is there; whether one was written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    return True


def _raw_public(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign_checkpoint(session: Session, actor: Actor | None, reason: str) -> AuditCheckpoint:
    """Sign the chain head as it stands now, keep the checkpoint (and an event
    saying so, chained after it), and tell the auditors and admins."""
    key = signing_key()
    seq, chain_hash = session.execute(select(AuditChainHead.seq, AuditChainHead.hash)).one()
    signed_at = utcnow()
    stamp = signed_at.isoformat()
    checkpoint = AuditCheckpoint(
        seq=seq,
        hash=chain_hash,
        signed_at=signed_at,
        reason=reason[:100],
        public_key=_raw_public(key.public_key()),
        signature=base64.b64encode(key.sign(message(seq, chain_hash, stamp))).decode(),
    )
    session.add(checkpoint)
    session.flush()
    record(session, actor, "audit.checkpoint_signed", checkpoint)
    notify(
        session,
        "checkpoint.signed",
        EventSubject(
            "audit_checkpoints",
            checkpoint.id,
            f"Audit checkpoint signed at sequence {seq}",
            {"checkpoint_id": checkpoint.id, "seq": seq, "hash": chain_hash, "reason": reason},
        ),
        users_with_roles(session, "auditor", "admin"),
        actor=actor,
    )
    return checkpoint


def as_published(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as the API lists it and ``verify_against`` reads it back."""
    return {
        "id": checkpoint.id,
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "signed_at": checkpoint.signed_at.isoformat(),
        "reason": checkpoint.reason,
        "public_key": checkpoint.public_key,
        "signature": checkpoint.signature,
    }


@dataclass(frozen=True)
class Agreement:
    agrees: bool
    checked: int
    disagreement: str | None = None


def verify_against(session: Session, published: list[dict[str, Any]]) -> Agreement:
    """Whether the chain agrees with every checkpoint in ``published`` (as
    ``as_published`` gives them, kept by an auditor): each signature valid under its
    public key, and the event at each checkpoint's sequence carrying its hash, the
    chain valid on its own and reaching at least as far. The first disagreement is
    named."""
    report = verify_chain(session)
    if not report.valid:
        return Agreement(False, 0, f"the chain itself is broken: {report.reason}")
    seqs = {int(p["seq"]) for p in published}
    by_seq = select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(seqs))
    hashes: dict[int, str] = {seq: digest for seq, digest in session.execute(by_seq)}
    hashes[0] = GENESIS_HASH
    for i, point in enumerate(sorted(published, key=lambda p: int(p["seq"])), start=1):
        seq, chain_hash = int(point["seq"]), str(point["hash"])
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(point["public_key"]))
            public.verify(
                base64.b64decode(point["signature"]),
                message(seq, chain_hash, str(point["signed_at"])),
            )
        except (InvalidSignature, ValueError, KeyError) as exc:
            return Agreement(False, i - 1, f"checkpoint at seq {seq}: signature invalid ({exc})")
        if seq > report.head_seq:
            return Agreement(
                False,
                i - 1,
                f"checkpoint at seq {seq}: the chain ends at seq {report.head_seq} "
                "(events were removed)",
            )
        found = hashes.get(seq)
        if found != chain_hash:
            return Agreement(
                False,
                i - 1,
                f"checkpoint at seq {seq}: the chain's hash there is {found}, the signed "
                f"one {chain_hash} (history was rewritten at or before seq {seq})",
            )
    return Agreement(True, len(published))


def parse_published(text: str) -> list[dict[str, Any]]:
    """A file of checkpoints: the route's page (``{"items": [...]}``) or a list."""
    from ledger import jsonbody

    value = jsonbody.load(text, "file")
    items = value.get("items") if isinstance(value, dict) else value
    if not isinstance(items, list) or not all(isinstance(p, dict) for p in items):
        raise ValueError('expected a JSON list of checkpoints, or {"items": [...]}')
    return items
