"""Reports benchmark: fund position and trial balance over 1,000,000 journal lines.

Run from the repository root: ``python benchmarks/reports/run.py [--lines N]``.

Creates a database of its own on PostgreSQL (``$LEDGER_BENCH_DATABASE_URL``,
default ``postgresql://127.0.0.1:5432/``), migrates it, loads N journal lines
(default 1,000,000: 500,000 balanced two-line entries of pledges, contributions,
commitments and disbursements, in USD and EUR, over 1,000 value dates), then
times, in the same run and on the same data:

* the fund position and the trial balance as the application computes them
  (the service, and the whole report through the registry: query, exact
  decimals, totals), and
* a hand-written SQL aggregate of the same numbers (psycopg, no ORM),

and checks that both give the same numbers. Prints the median of 5 runs (after
one warm-up) and the ratio to the hand-written SQL. The database is dropped
at the end. Figures: docs/benchmarks.md ("Reports").
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from ledger.db import make_engine  # noqa: E402
from ledger.funding.models import Fund  # noqa: E402
from ledger.journal.services import trial_balance  # noqa: E402
from ledger.migrations import upgrade  # noqa: E402
from ledger.reports.registry import ReportParams, build  # noqa: E402
from ledger.reports.services import fund_position  # noqa: E402

RUNS = 5
AS_OF = dt.date(2023, 12, 31)  # after every value date: every line counts

LOAD_SQL = """
INSERT INTO funds (name, base_currency, created_at) VALUES ('Benchmark fund', 'USD', now());
INSERT INTO donors (name, kind, country, created_at)
  SELECT 'Donor ' || d, 'government', 'QA', now() FROM generate_series(1, 20) d;
INSERT INTO projects (fund_id, name, sector, location, created_at)
  SELECT 1, 'Project ' || p, 'housing', 'Gaza City', now() FROM generate_series(1, 50) p;
INSERT INTO journal_entries (fund_id, kind, value_date, memo, source_type, source_id, created_at)
  SELECT 1, (ARRAY['pledge','contribution','commitment','disbursement'])[1 + i % 4],
         DATE '2021-01-01' + (i % 1000), 'benchmark', 'benchmark', i, now()
  FROM generate_series(1, :entries) i;
INSERT INTO journal_lines (entry_id, fund_id, value_date, kind, account, currency,
                           amount_minor, base_amount_minor, donor_id, project_id)
  SELECT e.id, 1, e.value_date, e.kind,
         CASE WHEN side = 1 THEN
              CASE e.kind WHEN 'pledge' THEN 'pledges_receivable' WHEN 'contribution' THEN 'cash'
                          WHEN 'commitment' THEN 'commitments_outstanding' ELSE 'disbursements' END
         ELSE CASE e.kind WHEN 'pledge' THEN 'contributions_pledged'
                          WHEN 'contribution' THEN 'pledges_receivable'
                          WHEN 'commitment' THEN 'commitment_reserve' ELSE 'cash' END END,
         CASE WHEN e.id % 5 = 0 THEN 'EUR' ELSE 'USD' END,
         (CASE WHEN side = 1 THEN 1 ELSE -1 END) * (100 + (e.id * 7919) % 10000000),
         (CASE WHEN side = 1 THEN 1 ELSE -1 END)
           * CASE WHEN e.id % 5 = 0 THEN ((100 + (e.id * 7919) % 10000000) * 12) / 10
                  ELSE 100 + (e.id * 7919) % 10000000 END,
         CASE WHEN e.kind IN ('pledge', 'contribution') THEN 1 + e.id % 20 END,
         CASE WHEN e.kind IN ('commitment', 'disbursement') THEN 1 + e.id % 50 END
  FROM journal_entries e CROSS JOIN (VALUES (1), (2)) AS sides(side);
ANALYZE journal_entries;
ANALYZE journal_lines;
"""

HAND_POSITION = """
SELECT account, kind, currency, sum(amount_minor), sum(base_amount_minor)
FROM journal_lines WHERE fund_id = %s AND value_date <= %s
GROUP BY account, kind, currency
"""
HAND_TRIAL_BALANCE = """
SELECT account, currency,
       sum(CASE WHEN amount_minor > 0 THEN amount_minor ELSE 0 END),
       sum(CASE WHEN amount_minor < 0 THEN -amount_minor ELSE 0 END),
       sum(CASE WHEN base_amount_minor > 0 THEN base_amount_minor ELSE 0 END),
       sum(CASE WHEN base_amount_minor < 0 THEN -base_amount_minor ELSE 0 END)
FROM journal_lines WHERE fund_id = %s AND value_date <= %s
GROUP BY account, currency ORDER BY account, currency
"""


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    fn()  # warm-up: plans, caches, connections
    times, result = [], None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    base_url = os.environ.get("LEDGER_BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/")
    admin_url = sa.make_url(base_url).set(drivername="postgresql+psycopg")
    admin_url = admin_url.set(database=admin_url.database or "postgres")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"ledger_bench_{secrets.token_hex(3)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL not reachable at {base_url}: {str(exc).splitlines()[0]}")
        return 0
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(url)
        start = time.perf_counter()
        with engine.begin() as conn:
            for statement in filter(str.strip, LOAD_SQL.split(";")):
                conn.execute(sa.text(statement), {"entries": args.lines // 2})
            lines = conn.execute(sa.text("SELECT count(*) FROM journal_lines")).scalar_one()
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        print(f"loaded {lines:,} journal lines in {time.perf_counter() - start:.1f} s")
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, PostgreSQL {version}"
        )
        factory = sessionmaker(engine)

        def in_session(fn: Callable[[Session], Any]) -> Callable[[], Any]:
            def run() -> Any:
                with factory() as session, session.begin():
                    return fn(session)

            return run

        def fund(session: Session) -> Fund:
            found = session.get(Fund, 1)
            assert found is not None
            return found

        raw = engine.raw_connection()

        def hand(sql: str) -> Callable[[], list[tuple[Any, ...]]]:
            def run() -> list[tuple[Any, ...]]:
                cursor = raw.cursor()
                cursor.execute(sql, (1, AS_OF))
                rows = cursor.fetchall()
                cursor.close()
                raw.commit()
                return [tuple(r) for r in rows]

            return run

        cases = [
            (
                "fund position",
                in_session(lambda s: fund_position(s, fund(s), AS_OF)),
                in_session(lambda s: build(s, "fund-position", ReportParams(1, AS_OF))),
                hand(HAND_POSITION),
            ),
            (
                "trial balance",
                in_session(lambda s: trial_balance(s, 1, AS_OF)),
                in_session(lambda s: build(s, "trial-balance", ReportParams(1, AS_OF))),
                hand(HAND_TRIAL_BALANCE),
            ),
        ]
        print(f"\nmedian of {RUNS} runs, as of {AS_OF} (every line counts):")
        print(f"{'report':<15} {'service':>10} {'report (all)':>13} {'hand SQL':>10} {'ratio':>7}")
        for label, service, report, sql in cases:
            t_service, served = timed(service)
            t_report, _data = timed(report)
            t_sql, hand_rows = timed(sql)
            check(label, served, hand_rows)
            print(
                f"{label:<15} {t_service * 1000:>8.0f} ms {t_report * 1000:>10.0f} ms "
                f"{t_sql * 1000:>7.0f} ms {t_report / t_sql:>6.2f}x"
            )
        raw.close()
        print("\nratio = whole report (registry) / hand-written SQL; the numbers agree.")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return 0


def check(label: str, served: Any, hand_rows: list[tuple[Any, ...]]) -> None:
    """The application's figures are the hand-written SQL's."""
    if label == "trial balance":
        mine = [
            (
                r.account,
                r.currency,
                r.debit_minor,
                r.credit_minor,
                r.base_debit_minor,
                r.base_credit_minor,
            )
            for r in served
        ]
        assert mine == [tuple(int(v) if i > 1 else v for i, v in enumerate(r)) for r in hand_rows]
        return
    from ledger.money import Money

    disbursed = sum(int(r[4]) for r in hand_rows if r[0] == "disbursements")
    assert Money.parse(served["base"]["disbursed"], "USD").minor == disbursed


if __name__ == "__main__":
    raise SystemExit(main())
