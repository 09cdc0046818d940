"""Where a payment's Python time goes: CPU per payment inside the process, by layer.

No HTTP server and no client: the application's WSGI callable is called directly
with ``POST /api/v1/disbursements`` (as run.py's clients send it), on a fresh
PostgreSQL database set up as run.py sets it up, one payment after another. It
prints the process's CPU time per payment; with ``--layers``, also the thread CPU
spent inside each function of the request path listed in ``LAYERS`` (each call
wrapped; the layers nest, so they do not add up; a wrapper costs about 1 µs a call).

    .venv/bin/python benchmarks/write_path/inprocess.py
    .venv/bin/python benchmarks/write_path/inprocess.py --layers --payments 3000

The figures sit below gunicorn's CPU per payment under load (run.py): gunicorn's
own HTTP handling (about 0.25 ms a request here) is not in them, and a process
that runs alone keeps its caches warmer. They move with it, and show which layer
a change touched. Separate runs differ by up to 10% on this machine: compare two
trees by running this alternately on each, several times.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import importlib
import io
import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import approved_requests, pg_database, render, treasurers

from ledger import create_app
from ledger.migrations import upgrade
from tests.factories import LedgerDriver

# "module:attribute path": timed where the request path looks it up at call time
# (through that module or class; a name imported elsewhere with ``from`` is not).
LAYERS = (
    "flask.app:Flask.wsgi_app",
    "flask.app:Flask.request_context",
    "flask.app:Flask.preprocess_request",
    "ledger.auth.tokens:authenticate",
    "ledger.idempotency.services:_claim",
    "ledger.auth.tokens:_caller_from",
    "flask.app:Flask.dispatch_request",
    "webargs.core:Parser.parse",
    "ledger.disbursements.views:disburse",
    "ledger.auth.access:load_user",
    "marshmallow.schema:Schema.dump",
    "ledger:LedgerFlask.dispatch_request",
    "sqlalchemy.orm.session:Session.commit",
    "ledger.audit.services:_write_pending",
    "ledger.disbursements.services:assert_payable",
    "ledger.compliance.payability:screening_gate",
    "ledger.compliance.payability:payment_blocks",
    "ledger.disbursements.services:lock_request",
    "ledger.disbursements.services:post_entry",
    "ledger.disbursements.services:allocate_disbursement",
    "ledger.disbursements.services:record",
    "flask.app:Flask.finalize_request",
    "flask.app:Flask.do_teardown_appcontext",
)

spent: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])


def timed(spec: str) -> None:
    """Replace ``spec``'s function by one that adds its thread CPU to ``spent``."""
    module_name, path = spec.split(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time_ns()
        try:
            return original(*args, **kwargs)
        finally:
            entry = spent[spec]
            entry[0] += time.thread_time_ns() - started
            entry[1] += 1

    setattr(owner, name, wrapper)


def payment(app: Any, token: str, request_id: int, n: int) -> str:
    """One payment through the WSGI callable; its status line."""
    key = f"{secrets.token_hex(4)}-{n}"
    body = json.dumps(
        {
            "spending_request_id": request_id,
            "amount": "1.00",
            "currency": "USD",
            "reference": f"PAY-{key}",
        }
    ).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/disbursements",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_IDEMPOTENCY_KEY": key,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    status: list[str] = []
    b"".join(app.wsgi_app(environ, lambda s, _h, _e=None: status.append(s)))
    return status[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--layers", action="store_true", help="time the LAYERS too")
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the measured payments into FILE (pstats)"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/"),
    )
    args = parser.parse_args()
    with pg_database(args.pg_url, "ledger_bench_wp_inprocess") as url:
        upgrade(render(url))
        app = create_app({"DATABASE_URL": render(url), "LOG_LEVEL": "WARNING"})
        driver = LedgerDriver(app, app.test_client())
        (request_id,), _ = approved_requests(driver, 1)
        (token,) = treasurers(driver, 1)
        try:
            for n in range(args.warmup):  # the name index, prepared statements
                status = payment(app, token, request_id, n)
                if not status.startswith("201"):
                    print(f"a payment was answered {status}")
                    return 1
            if args.layers:
                for spec in LAYERS:
                    timed(spec)
            profiler = cProfile.Profile(time.process_time) if args.profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler is not None:
                profiler.enable()
            for n in range(args.payments):
                payment(app, token, request_id, args.warmup + n)
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            app.extensions["ledger.db"].engine.dispose()
    count = args.payments
    print(
        f"in process, {count:,} payments after {args.warmup}: CPU {cpu / count * 1e3:.3f} ms "
        f"a payment (wall {wall / count * 1e3:.3f} ms: the rest waits on PostgreSQL)"
    )
    if args.layers:
        print(f"{'µs a payment':>13} {'calls':>6}  layer (nested: they do not add up)")
        for spec, (ns, calls) in sorted(spent.items(), key=lambda item: -item[1][0]):
            print(f"{ns / count / 1e3:13.1f} {calls / count:6.2f}  {spec}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
