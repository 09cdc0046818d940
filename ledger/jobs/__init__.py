"""Background jobs on a queue (SPEC §5a; docs/architecture.md, "Jobs").

``init_app`` makes the application's ``JobQueue`` (``app.extensions["ledger.jobs"]``),
sends the jobs a transaction enqueued once it commits, and, without a broker,
runs them in this process from its first request on.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    import ledger.jobs.handlers  # noqa: F401  (registers the kinds of job)
    from ledger.jobs.queue import JobQueue

    queue = JobQueue(app)
    queue.install(app.extensions["ledger.db"].sessionmaker)
    app.extensions["ledger.jobs"] = queue
    if queue.in_process:
        # The server's worker threads and scheduler (``make run``): started with the
        # first request, not by every ``flask`` command that builds the app.
        @app.before_request
        def _start_jobs() -> None:
            queue.start_in_process()
