"""Running a batch's posting: the transaction boundary, one commit per chunk.

Used by the ``batch.post`` job (``ledger/jobs/handlers.py``), which the API
queues, and by ``flask --app wsgi batches post`` (in the foreground). All state is
in the database, so any process can resume a run that stopped: it pays the rows
still ``ready`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.auth.models import User
from ledger.batches.services import CHUNK_SIZE, ChunkResult, post_chunk, posting_stopped
from ledger.db import db
from ledger.errors import LedgerError


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
            _stopped(batch_id, actor_id, error)
            raise
        if on_chunk is not None:
            on_chunk(result)
        if result.done:
            return


def _stopped(batch_id: int, actor_id: int, error: LedgerError) -> None:
    """The chunk's work rolled back: keep the refusal (if the rule's error is one)
    with what must survive it, and tell who follows the batch that it stopped."""
    from ledger.compliance.services import record_refusal

    with db.transaction() as session:
        actor = session.get(User, actor_id)
        if error.refusal:
            record_refusal(session, actor, error)
            for action in error.deferred:
                action(session)
        posting_stopped(session, actor, batch_id, error)
