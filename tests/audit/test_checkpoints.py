"""Signed checkpoints of the audit chain: what even the database's administrator
cannot hide. A superuser who turns the triggers off, edits an event and recomputes
every later hash and the head (or drops the tail and moves the head back) leaves a
chain that checks out on its own; it no longer agrees with the checkpoints that
auditors kept."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from ledger.audit.checkpoints import message
from ledger.audit.services import link


@pytest.fixture
def signing_key(app, monkeypatch) -> Ed25519PrivateKey:  # type: ignore[no-untyped-def]
    """An Ed25519 key given to the app as PEM text (AUDIT_SIGNING_KEY)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", pem)
    return key


def checkpoint(runner) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    signed: dict[str, Any] = json.loads(result.output)
    return signed


def verify(runner, against: Path | None = None) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    args = ["audit", "verify"] + (["--against", str(against)] if against else [])
    result = runner.invoke(args=args)
    return result.exit_code, result.output


def published(ledger, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """What an auditor keeps: the route's answer, as a file."""
    page = ledger.get("/audit-events/checkpoints", as_="auditor")
    path = tmp_path / "checkpoints.json"
    path.write_text(json.dumps(page["items"]))
    return path


def triggers_off(session: Session) -> None:
    """The owner switching the append-only triggers off, as a superuser could."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL session_replication_role = replica"))


def rewrite_from(session: Session, seq: int) -> None:
    """Edit event ``seq`` and recompute it and every later hash, and the head: the
    chain then checks out on its own."""
    triggers_off(session)
    session.execute(
        sa.text("UPDATE audit_events SET actor_name = 'someone else' WHERE seq = :seq"),
        {"seq": seq},
    )
    prev = session.scalar(sa.text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": seq - 1})
    rows = session.execute(
        sa.text(
            "SELECT id, occurred_at, actor_id, actor_name, action, entity_type, entity_id, "
            "request_id, before, after FROM audit_events WHERE seq >= :s ORDER BY seq"
        ),
        {"s": seq},
    ).all()
    from ledger.audit.models import AuditEvent

    events = [session.get(AuditEvent, row[0]) for row in rows]
    fields = [
        {
            key: getattr(e, key)
            for key in (
                "occurred_at",
                "actor_id",
                "actor_name",
                "action",
                "entity_type",
                "entity_id",
                "request_id",
                "before",
                "after",
            )
        }
        for e in events
    ]
    session.expunge_all()
    for event, linked in zip(events, link(prev, seq - 1, fields), strict=True):
        session.execute(
            sa.text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :id"),
            {"p": linked["prev_hash"], "h": linked["hash"], "id": event.id},
        )
        last = linked
    session.execute(
        sa.text("UPDATE audit_chain_head SET seq = :s, hash = :h WHERE id = 1"),
        {"s": last["seq"], "h": last["hash"]},
    )
    session.commit()


def test_a_checkpoint_is_signed_and_listed_for_auditors(ledger, runner, signing_key):
    ledger.approved("100.00")
    head = ledger.get("/audit-events/verify", as_="auditor")
    signed = checkpoint(runner)
    assert (signed["seq"], signed["hash"]) == (head["head_seq"], head["head_hash"])

    listed = ledger.get("/audit-events/checkpoints", as_="auditor")["items"]
    assert [c["id"] for c in listed] == [signed["id"]]
    point = listed[0]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(point["public_key"]))
    public.verify(
        base64.b64decode(point["signature"]),
        message(point["seq"], point["hash"], point["signed_at"]),
    )
    assert (
        point["public_key"]
        == base64.b64encode(
            signing_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        ).decode()
    )
    assert ledger.raw("GET", "/audit-events/checkpoints", "clerk").status_code == 403


def test_an_edit_with_recomputed_hashes_is_found_against_the_checkpoints(
    ledger, runner, session, signing_key, tmp_path
):
    ledger.approved("100.00")
    signed = checkpoint(runner)
    ledger.payee("Another payee")  # more events after it
    kept = published(ledger, tmp_path)
    assert verify(runner, kept)[0] == 0

    rewrite_from(session, signed["seq"] - 3)

    alone, _ = verify(runner)
    code, output = verify(runner, kept)
    assert alone == 0  # the chain checks out on its own
    assert code == 1
    assert f"checkpoint at seq {signed['seq']}" in output and "rewritten" in output


def test_a_truncated_tail_is_found_against_the_checkpoints(
    ledger, runner, session, signing_key, tmp_path
):
    ledger.approved("100.00")
    signed = checkpoint(runner)
    kept = published(ledger, tmp_path)
    cut = signed["seq"] - 1  # the last events, the checkpoint's own among them
    triggers_off(session)
    session.execute(sa.text("DELETE FROM audit_events WHERE seq > :s"), {"s": cut})
    last = session.scalar(sa.text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": cut})
    session.execute(
        sa.text("UPDATE audit_chain_head SET seq = :s, hash = :h WHERE id = 1"),
        {"s": cut, "h": last},
    )
    session.commit()

    assert verify(runner)[0] == 0
    code, output = verify(runner, kept)
    assert code == 1 and "events were removed" in output


def test_closing_a_period_signs_a_checkpoint(ledger, signing_key):
    world = ledger.funded()
    ledger.call(
        "POST",
        f"/funds/{world['fund']['id']}/periods",
        "treasurer",
        {"period": "2021-05", "reason": "May 2021 reconciled"},
        expect=201,
    )
    listed = ledger.get("/audit-events/checkpoints", as_="auditor")["items"]
    assert [c["reason"] for c in listed] == [f"period close 2021-05, fund {world['fund']['id']}"]


def test_without_a_key_the_checkpoint_command_says_what_to_set(runner):
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1
    assert "AUDIT_SIGNING_KEY" in result.output
