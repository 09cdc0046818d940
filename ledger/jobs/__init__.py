"""Background jobs on a queue (SPEC §5a; docs/architecture.md, "Jobs").

``init_app`` makes the application's ``JobQueue`` (``app.extensions["ledger.jobs"]``),
sends the jobs a transaction enqueued once it commits, and, without a broker,
runs them in this process from its first request on.
"""

from __future__ import annotations

import logging

from flask import Flask

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    import ledger.jobs.handlers  # noqa: F401  (registers the kinds of job)
    from ledger.jobs.queue import JobQueue

    queue = JobQueue(app)
    queue.install(app.extensions["ledger.db"].sessionmaker)
    app.extensions["ledger.jobs"] = queue
    if queue.in_process and not app.testing:
        # The server's worker threads and scheduler (``make run``): started with the
        # first request, not by every ``flask`` command that builds the app (nor by a
        # test's app: there the first job sent starts them). A database that cannot be
        # reached yet must not fail the request (``/readyz`` says so): the next
        # request tries again, and the scheduler sends unfinished jobs again.
        @app.before_request
        def _start_jobs() -> None:
            try:
                queue.start_in_process()
            except Exception:
                log.warning("in-process jobs not started yet", exc_info=True)
