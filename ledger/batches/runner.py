"""Running a batch's posting: the transaction boundary, one commit per chunk.

Used by the API (in a background thread) and by ``flask --app wsgi batches post``
(in the foreground). All state is in the database, so any process can resume a
run that stopped: it pays the rows still ``ready`` and nothing else.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from flask import Flask
from sqlalchemy.orm import Session

from ledger.auth.models import Actor, User
from ledger.batches.models import Batch
from ledger.batches.services import CHUNK_SIZE, ChunkResult, post_chunk, start_posting
from ledger.db import db
from ledger.errors import LedgerError

log = logging.getLogger(__name__)


def post_batch(
    app: Flask, session: Session, actor: Actor, *, batch_id: int, paid_on: dt.date | None
) -> Batch:
    """What ``POST /batches/{id}/post`` does, for the API and the console alike: start
    (or resume) the posting, commit that, then pay the batch in a thread of this
    process, unless ``BATCH_POST_IN_BACKGROUND`` is off (a worker or the CLI pays it:
    ``run_posting``). A refusal propagates before anything is committed."""
    batch = start_posting(session, actor, batch_id=batch_id, paid_on=paid_on)
    session.commit()
    if app.config.get("BATCH_POST_IN_BACKGROUND", True):
        start_in_background(app, batch.id, actor.id)
    return batch


def run_posting(
    batch_id: int,
    actor_id: int,
    *,
    chunk_size: int = CHUNK_SIZE,
    on_chunk: Callable[[ChunkResult], None] | None = None,
) -> None:
    """Post chunk after chunk, each committed on its own, until no row is ready and
    the batch is marked posted. Needs an application context."""
    while True:
        try:
            with db.transaction() as session:
                actor = session.get(User, actor_id)
                assert actor is not None
                result = post_chunk(session, actor, batch_id=batch_id, chunk_size=chunk_size)
        except LedgerError as error:
            if error.refusal:
                _record_refusal(actor_id, error)
            raise
        if on_chunk is not None:
            on_chunk(result)
        if result.done:
            return


def _record_refusal(actor_id: int, error: LedgerError) -> None:
    from ledger.compliance.services import record_refusal

    with db.transaction() as session:
        record_refusal(session, session.get(User, actor_id), error)
        for action in error.deferred:
            action(session)


def start_in_background(app: Flask, batch_id: int, actor_id: int) -> threading.Thread:
    """Post the batch in a thread of this process. If the process dies, the batch
    stays ``posting`` and any later run (API or CLI) resumes it."""

    def target() -> None:
        with app.app_context():
            try:
                run_posting(batch_id, actor_id, chunk_size=app.config.get("BATCH_CHUNK_SIZE", 1000))
            except Exception:
                log.exception("posting batch %s stopped; run it again to resume", batch_id)

    thread = threading.Thread(target=target, name=f"batch-{batch_id}", daemon=True)
    thread.start()
    return thread
