"""A kind of job that fails on its first runs, for the retry tests: registered in
the test process (to enqueue it) and in the worker (``flaky_app``) that runs it."""

from __future__ import annotations

from typing import Any

from ledger.jobs.services import JobRun, handles


@handles("test.flaky")
def flaky(run: JobRun) -> dict[str, Any]:
    """Fail (as a lost connection would) until run number ``succeed_on``."""
    if run.attempt < int(run.arguments["succeed_on"]):
        raise ConnectionError(f"transient failure on run {run.attempt}")
    return {"succeeded_on": run.attempt}
