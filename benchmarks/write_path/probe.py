"""Design probe for (a): the product's payment beside the same payment made by one
database statement (``probe_app.py``), in alternating slices on one database, with
pgbench TPC-B just before and just after, on the settings of ``run.py``.

    .venv/bin/python benchmarks/write_path/probe.py --rounds 3 --seconds 8

It answers one question: how far the ratio to pgbench moves if a payment's whole
transaction (authentication, key claim, payment, screening check, audit chain,
stored answer) becomes one statement in autocommit, with Python only around it.
Not part of ``make bench``: the probe's audit events do not verify (its docstring).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (
    ROOT,
    Pgbench,
    cpu_seconds,
    create_app,
    payments_world,
    pg_database,
    render,
    serve,
    stop,
    wrk_disburse,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)  # as run.py
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pgbench-scale", type=int, default=8)
    parser.add_argument(
        "--transaction",
        action="store_true",
        help="also the probe's statement inside BEGIN ... COMMIT (three round trips)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/"),
    )
    args = parser.parse_args()
    import psycopg
    from probe_app import PROBE_SQL

    with (
        tempfile.TemporaryDirectory() as tmp_name,
        pg_database(args.pg_url, "ledger_bench_wp_probe") as url,
        pg_database(args.pg_url, "ledger_bench_wp_probe_pgbench") as pgbench_url,
    ):
        tmp = Path(tmp_name)
        driver, request_ids, world, tokens = payments_world(url, args.clients, args.clients)
        dsn = render(url, "postgresql")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(PROBE_SQL)
        env = {
            **os.environ,
            "LEDGER_DATABASE_URL": dsn,
            "LEDGER_LOG_LEVEL": "WARNING",
            "PROBE_DSN": dsn,
            "PYTHONPATH": str(ROOT),
        }
        pgbench = Pgbench(args, pgbench_url, tmp)
        sides: dict[str, Any] = {}
        try:
            here = Path(__file__).parent
            for name, spec, cwd, extra in (
                ("product", "wsgi:app", ROOT, {}),
                ("probe", "probe_app:app", here, {}),
                ("probe-tx", "probe_app:app", here, {"PROBE_TRANSACTION": "1"}),
            ):
                if name == "probe-tx" and not args.transaction:
                    continue
                side_env = {**env, **extra}
                proc, port, _ = serve(spec, cwd, side_env, args, tmp / f"{name}.log")
                sides[name] = {"proc": proc, "port": port, "slices": []}
            for side in sides.values():  # warm-up: the name index, prepared statements
                wrk_disburse(side["port"], tokens, request_ids, args.clients, 3)
            pgbench.run(args.seconds)
            for _ in range(args.rounds):
                for name, side in sides.items():
                    before = cpu_seconds(side["proc"].pid)
                    got = wrk_disburse(
                        side["port"], tokens, request_ids, args.clients, args.seconds
                    )
                    after = cpu_seconds(side["proc"].pid)
                    count = max(got["requests"], 1)
                    row = {
                        "rps": got["requests"] / (got["duration_us"] / 1e6),
                        "p99_ms": got["p99_us"] / 1000,
                        "errors": got["not_201"] + got["socket_errors"],
                        "gunicorn_ms": (after["gunicorn"] - before["gunicorn"]) / count * 1e3,
                        "postgres_ms": (after["postgres"] - before["postgres"]) / count * 1e3,
                    }
                    side["slices"].append(row)
                    print(
                        f"{name:9s} {row['rps']:7.1f}/s  p99 {row['p99_ms']:5.1f} ms  "
                        f"errors {row['errors']}  CPU a payment: gunicorn "
                        f"{row['gunicorn_ms']:.2f} ms, PostgreSQL {row['postgres_ms']:.2f} ms",
                        flush=True,
                    )
            pgbench.run(args.seconds)
        finally:
            for side in sides.values():
                stop(side["proc"])
        bench = pgbench.result()
        app = create_app({"DATABASE_URL": render(url), "LOG_LEVEL": "WARNING"})
        driver.app, driver.client = app, app.test_client()
        balanced = driver.trial_balance(world["fund"]["id"])["balanced"]
        app.extensions["ledger.db"].engine.dispose()
    print(f"pgbench TPC-B: {bench['tps']:.1f} tps (parts {bench['parts']}); balanced: {balanced}")
    for name, side in sides.items():
        rps = statistics.median(s["rps"] for s in side["slices"])
        print(
            f"{name:9s} median {rps:7.1f}/s = {rps / bench['tps']:6.1%} of pgbench; "
            f"p99 {statistics.median(s['p99_ms'] for s in side['slices']):.1f} ms; "
            f"gunicorn {statistics.median(s['gunicorn_ms'] for s in side['slices']):.2f} ms, "
            f"PostgreSQL {statistics.median(s['postgres_ms'] for s in side['slices']):.2f} ms "
            "a payment"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
